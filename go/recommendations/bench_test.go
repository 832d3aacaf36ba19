package recommendations

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/test/bufconn"

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
			srv := s.new()
			lis := bufconn.Listen(1 << 20)
			go srv.Serve(lis)
			defer srv.Stop()
			conn, err := grpc.NewClient("passthrough:///bufnet",
				grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
				grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			client := pb.NewRecommendationsServiceClient(conn)
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
