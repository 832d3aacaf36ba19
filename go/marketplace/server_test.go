package marketplace

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/recommendations"
	"github.com/onlinebooks/bookstore/go/telemetry"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// Behind a Kubernetes headless Service the name resolves to every pod; calls
// must reach all of them, not only the first that connected (pick_first,
// grpc-go's default, fails this).
func TestDialRecommendations_SpreadsCallsOverEveryAddress(t *testing.T) {
	const backends, maxCalls = 3, 300
	var calls [backends]atomic.Int64
	var state resolver.State
	for i := range backends {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			calls[i].Add(1)
			return handler(ctx, req)
		}))
		healthpb.RegisterHealthServer(srv, health.NewServer())
		go srv.Serve(lis)
		t.Cleanup(srv.Stop)
		state.Addresses = append(state.Addresses, resolver.Address{Addr: lis.Addr().String()})
	}
	r := manual.NewBuilderWithScheme("pods")
	r.InitialState(state)
	conn, err := DialRecommendations("pods:///recommendations", insecure.NewCredentials(), grpc.WithResolvers(r))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	client := healthpb.NewHealthClient(conn)
	reached := func() (n int) {
		for i := range calls {
			if calls[i].Load() > 0 {
				n++
			}
		}
		return n
	}
	// Until every backend is connected, round robin uses those that are.
	for n := 0; n < maxCalls && reached() < backends; n++ {
		if _, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := reached(); got != backends {
		t.Errorf("%d calls reached %d of %d backends, want all", maxCalls, got, backends)
	}
}

// A pod that goes away under a call answers UNAVAILABLE; the client tries
// again and the page never sees it.
func TestDialRecommendations_RetriesUnavailable(t *testing.T) {
	const calls = 10
	var attempts atomic.Int64
	// Every other attempt fails, as if its pod had just gone.
	flaky := grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if attempts.Add(1)%2 == 1 {
			return nil, status.Error(codes.Unavailable, "pod going away")
		}
		return handler(ctx, req)
	})
	o := telemetry.Observability{Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()}
	srv := recommendations.NewGRPCServer(o, recommendations.NewService(recommendations.DefaultCatalog()), health.NewServer(), flaky)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := DialRecommendations(lis.Addr().String(), insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	client := pb.NewRecommendationsServiceClient(conn)
	for range calls {
		if _, err := client.Recommend(t.Context(), &pb.RecommendRequest{Category: pb.BookCategory_BOOK_CATEGORY_MYSTERY}); err != nil {
			t.Fatalf("Recommend: %v, want the retry to succeed", err)
		}
	}
	if got, want := attempts.Load(), int64(2*calls); got != want {
		t.Errorf("attempts: got %d, want %d (each call retried once)", got, want)
	}
}

// A server closes the connection of a client that pings more often than it
// allows (GOAWAY too_many_pings), which would turn keepalive into churn.
func TestClientKeepalive_PingsNoMoreOftenThanRecommendationsAllows(t *testing.T) {
	policy := recommendations.KeepaliveEnforcement
	if got, limit := ClientKeepalive.Time, policy.MinTime; got < limit {
		t.Errorf("client pings every %s; Recommendations allows every %s at most", got, limit)
	}
	if ClientKeepalive.PermitWithoutStream && !policy.PermitWithoutStream {
		t.Errorf("client pings idle connections; Recommendations does not allow it")
	}
}
