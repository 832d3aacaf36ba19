package recommendations

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/onlinebooks/bookstore/go/platform/telemetry"
	"github.com/onlinebooks/bookstore/go/platform/tlsconfig"
	"github.com/onlinebooks/bookstore/go/testkit"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// BenchmarkServerChain measures Recommend through the production server
// (NewGRPCServer: metrics, logging as JSON, error mapping, recovery; tracing
// off) against a bare grpc.Server with the same service, over an in-memory
// connection. The chain's cost is the difference of the two ns/op:
//
//	tools/bazel run -c opt --//tools/go:race=false //go/recommendations:recommendations_test -- \
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
			recommendInParallel(b, pb.NewRecommendationsServiceClient(testkit.Dial(b, s.new())))
		})
	}
}

// BenchmarkTransport measures Recommend through the production server over
// loopback TCP, in plaintext and with mutual TLS (certificates from //certs),
// on one long-lived connection as Marketplace uses it. Compare the ns/op:
//
//	tools/bazel run -c opt --//tools/go:race=false //go/recommendations:recommendations_test -- \
//	  -test.run='^$' -test.bench=Transport -test.benchmem -test.count=8
func BenchmarkTransport(b *testing.B) {
	modes := []struct {
		server tlsconfig.Server
		client tlsconfig.Client
	}{
		{server: tlsconfig.Server{Mode: tlsconfig.Plaintext}, client: tlsconfig.Client{Mode: tlsconfig.Plaintext}},
		{
			server: tlsconfig.Server{Mode: tlsconfig.MutualTLS, Cert: testkit.Cert(b, "recommendations.pem"), Key: testkit.Cert(b, "recommendations.key"),
				ClientCA: testkit.Cert(b, "ca.pem"), AllowedClients: []string{"marketplace"}},
			client: tlsconfig.Client{Mode: tlsconfig.MutualTLS, Cert: testkit.Cert(b, "marketplace.pem"), Key: testkit.Cert(b, "marketplace.key"), CA: testkit.Cert(b, "ca.pem")},
		},
	}
	for _, m := range modes {
		b.Run(string(m.server.Mode), func(b *testing.B) {
			serverOpts, stopServer, err := m.server.Options()
			if err != nil {
				b.Fatal(err)
			}
			defer stopServer()
			clientOpts, stopClient, err := m.client.DialOptions()
			if err != nil {
				b.Fatal(err)
			}
			defer stopClient()
			o := telemetry.Observability{Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: prometheus.NewRegistry()}
			srv := NewGRPCServer(o, NewService(DefaultCatalog()), health.NewServer(), serverOpts...)
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(lis)
			defer srv.Stop()
			conn, err := grpc.NewClient(lis.Addr().String(), clientOpts...)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			recommendInParallel(b, pb.NewRecommendationsServiceClient(conn))
		})
	}
}

// recommendInParallel is the measured loop: Recommend calls from GOMAXPROCS
// goroutines on one connection.
func recommendInParallel(b *testing.B, client pb.RecommendationsServiceClient) {
	req := &pb.RecommendRequest{Category: pb.BookCategory_BOOK_CATEGORY_MYSTERY, MaxResults: 3}
	b.ReportAllocs()
	b.RunParallel(func(p *testing.PB) {
		for p.Next() {
			if _, err := client.Recommend(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSample measures drawing the default 3 books from a category of 8,
// with the production source of randomness.
func BenchmarkSample(b *testing.B) {
	books, err := DefaultCatalog().Books(pb.BookCategory_BOOK_CATEGORY_MYSTERY)
	if err != nil {
		b.Fatal(err)
	}
	r := NewService(DefaultCatalog()).rand
	b.ReportAllocs()
	for b.Loop() {
		sample(books, DefaultMaxResults, r)
	}
}

// BenchmarkRecommend measures the handler alone, called directly.
func BenchmarkRecommend(b *testing.B) {
	svc := NewService(DefaultCatalog())
	req := &pb.RecommendRequest{Category: pb.BookCategory_BOOK_CATEGORY_MYSTERY, MaxResults: 3}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Recommend(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
