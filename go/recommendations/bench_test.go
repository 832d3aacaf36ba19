package recommendations

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/onlinebooks/bookstore/go/bufconntest"
	"github.com/onlinebooks/bookstore/go/telemetry"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// BenchmarkServerChain measures Recommend through the production server
// (NewGRPCServer: metrics, logging as JSON, error mapping, recovery; tracing
// off) against a bare grpc.Server with the same service, over an in-memory
// connection. The chain's cost is the difference of the two ns/op:
//
//	tools/bazel run -c opt --@rules_go//go/config:race=false //go/recommendations:recommendations_test -- \
//	  -test.run='^$' -test.bench=ServerChain -test.benchmem -test.count=8
func BenchmarkServerChain(b *testing.B) {
	svc := NewService(DefaultCatalog())
	servers := []struct {
		name string
		new  func() *grpc.Server
	}{
		{"bare", func() *grpc.Server {
			srv := grpc.NewServer()
			pb.RegisterRecommendationsServiceServer(srv, svc)
			return srv
		}},
		{"chain", func() *grpc.Server {
			o := telemetry.Observability{Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: prometheus.NewRegistry()}
			return NewGRPCServer(o, svc, health.NewServer())
		}},
	}
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			client := pb.NewRecommendationsServiceClient(bufconntest.Dial(b, s.new()))
			req := &pb.RecommendRequest{Category: pb.BookCategory_BOOK_CATEGORY_MYSTERY, MaxResults: 3}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.Recommend(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
