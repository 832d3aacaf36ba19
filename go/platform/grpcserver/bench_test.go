package grpcserver

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	pb "github.com/onlinebooks/bookstore/go/platform/grpcserver/internal/dummypb"
	"github.com/onlinebooks/bookstore/go/platform/telemetry"
	"github.com/onlinebooks/bookstore/go/testkit"
)

// BenchmarkChain measures calls through the whole chain against the same
// server without it, over an in-memory connection, in production settings:
// every call logged as JSON (to nowhere, so the disk is not measured), and
// tracing off. Compare the two ns/op:
//
//	tools/bazel run //go/platform/grpcserver:grpcserver_test -- -test.run='^$' -test.bench=Chain -test.benchmem
func BenchmarkChain(b *testing.B) {
	servers := []struct {
		name string
		new  func() *grpc.Server
	}{
		{"bare", func() *grpc.Server {
			srv := grpc.NewServer()
			pb.RegisterDummyServiceServer(srv, dummy{})
			return srv
		}},
		{"chain", func() *grpc.Server {
			return New(telemetry.Observability{
				Log:     slog.New(slog.NewJSONHandler(io.Discard, nil)),
				Metrics: prometheus.NewRegistry(),
			}, func(s Registrar) { pb.RegisterDummyServiceServer(s, dummy{}) })
		}},
	}
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			client := pb.NewDummyServiceClient(testkit.Dial(b, s.new()))
			req := &pb.EchoRequest{Input: "hello"}
			b.ReportAllocs()
			b.RunParallel(func(p *testing.PB) {
				for p.Next() {
					if _, err := client.Echo(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
