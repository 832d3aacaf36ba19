package client

import (
	"context"
	"log/slog"
	"maps"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/platform/telemetry"
	"github.com/onlinebooks/bookstore/go/recommendations"
	"github.com/onlinebooks/bookstore/go/testkit"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

var plaintext = grpc.WithTransportCredentials(insecure.NewCredentials())

func TestTarget(t *testing.T) {
	tests := []struct{ host, want string }{
		{"recommendations", "recommendations:50051"},
		{"localhost:7000", "localhost:7000"},
		{"127.0.0.1", "127.0.0.1:50051"},
		{"::1", "[::1]:50051"},
		{"[::1]:9", "[::1]:9"},
		{"dns:///recommendations.bookstore.svc.cluster.local:50051", "dns:///recommendations.bookstore.svc.cluster.local:50051"},
	}
	for _, tt := range tests {
		if got := Target(tt.host); got != tt.want {
			t.Errorf("Target(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}

// Behind a Kubernetes headless Service the name resolves to every pod; calls
// must reach all of them, not only the first that connected (pick_first,
// grpc-go's default, fails this).
func TestDial_SpreadsCallsOverEveryAddress(t *testing.T) {
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
	conn, err := Dial("pods:///recommendations", plaintext, grpc.WithResolvers(r))
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
		t.Errorf("up to %d calls reached %d of %d backends, want all", maxCalls, got, backends)
	}
}

// serveFailing serves Recommendations on loopback behind fail, which sees
// each attempt's number (from 1) and returns the error to answer it with,
// or nil to serve it; it returns a client connection made by Dial with
// opts and the count of attempts.
func serveFailing(t *testing.T, fail func(attempt int64) error, opts ...grpc.DialOption) (*grpc.ClientConn, *atomic.Int64) {
	t.Helper()
	var attempts atomic.Int64
	failing := grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := fail(attempts.Add(1)); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	})
	o := telemetry.Observability{Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()}
	srv := recommendations.NewGRPCServer(o, recommendations.NewService(recommendations.DefaultCatalog()), health.NewServer(), failing)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := Dial(lis.Addr().String(), append(opts, plaintext)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, &attempts
}

func recommend(t *testing.T, client pb.RecommendationsServiceClient) error {
	_, err := client.Recommend(t.Context(), &pb.RecommendRequest{Category: pb.BookCategory_BOOK_CATEGORY_MYSTERY})
	return err
}

// A pod that goes away under a call answers UNAVAILABLE; the client tries
// again and its caller never sees it.
func TestDial_RetriesUnavailable(t *testing.T) {
	const calls = 10
	// Three calls' first attempts fail, as if their pod had just gone:
	// attempts 1, 4 and 7 (calls 1, 3 and 5).
	conn, attempts := serveFailing(t, func(n int64) error {
		if n <= 7 && n%3 == 1 {
			return status.Error(codes.Unavailable, "pod going away")
		}
		return nil
	})
	client := pb.NewRecommendationsServiceClient(conn)
	for range calls {
		if err := recommend(t, client); err != nil {
			t.Fatalf("Recommend: %v, want the retry to succeed", err)
		}
	}
	if got, want := attempts.Load(), int64(calls+3); got != want {
		t.Errorf("attempts: got %d, want %d (three calls retried once)", got, want)
	}
}

// Retries never add load where there is too much: a busy server's refusal
// is final, and while failures dominate retries stop (the service config's
// retryThrottling), so an outage is not multiplied by its own retries.
func TestDial_RetriesDoNotAmplifyLoad(t *testing.T) {
	const calls = 20
	tests := []struct {
		name        string
		code        codes.Code
		maxAttempts int64
	}{
		{"busy server", codes.ResourceExhausted, calls},
		// Unthrottled, each call would make 3 attempts.
		{"failures dominating", codes.Unavailable, calls + calls/2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, attempts := serveFailing(t, func(int64) error { return status.Error(tt.code, "no") })
			client := pb.NewRecommendationsServiceClient(conn)
			for range calls {
				if got := status.Code(recommend(t, client)); got != tt.code {
					t.Fatalf("got %s, want %s", got, tt.code)
				}
			}
			if got := attempts.Load(); got > tt.maxAttempts {
				t.Errorf("attempts for %d calls: got %d, want at most %d", calls, got, tt.maxAttempts)
			}
		})
	}
}

// Past MaxInFlight calls in flight, a call fails at once and is never sent,
// so an overload queues neither in the client nor in the connection, where
// the server could not refuse it. The refusal is counted in the client's
// metrics, a health check still goes through, and once calls end, calls
// are sent again.
func TestDial_RefusesCallsPastMaxInFlight(t *testing.T) {
	reg := prometheus.NewRegistry()
	calls, err := NewInstrumentation(telemetry.Observability{Log: slog.New(slog.DiscardHandler), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(MaxInFlight)
	conn, attempts := serveFailing(t, func(n int64) error {
		if n <= MaxInFlight {
			arrived.Done()
			<-release
		}
		return nil
	}, calls.DialOptions(time.Minute)...)
	client := pb.NewRecommendationsServiceClient(conn)
	held := make(chan error, MaxInFlight)
	for range MaxInFlight {
		go func() { held <- recommend(t, client) }()
	}
	arrived.Wait()

	err = recommend(t, client)
	if got, want := status.Code(err), codes.ResourceExhausted; got != want {
		t.Errorf("call %d: got %s (%v), want %s", MaxInFlight+1, got, err, want)
	}
	if got, want := attempts.Load(), int64(MaxInFlight); got != want {
		t.Errorf("calls the server saw: got %d, want %d (the refused one must not be sent)", got, want)
	}
	refused := testkit.Value(t, reg, "grpc_client_handled_total", map[string]string{"grpc_method": "Recommend", "grpc_code": "ResourceExhausted"})
	if got, want := refused, 1.0; got != want {
		t.Errorf("grpc_client_handled_total ResourceExhausted: got %v, want %v", got, want)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health check while full: %v", err)
	}

	close(release)
	for range MaxInFlight {
		if err := <-held; err != nil {
			t.Errorf("held call: %v", err)
		}
	}
	if err := recommend(t, client); err != nil {
		t.Errorf("call after the others ended: %v", err)
	}
}

// A server closes the connection of a client that pings more often than it
// allows (GOAWAY too_many_pings), which would turn keepalive into churn.
// grpc-go will not ping more often than every 10 s, so this compares the
// two settings rather than waiting for the pings.
func TestKeepalive_PingsNoMoreOftenThanRecommendationsAllows(t *testing.T) {
	tests := []struct {
		name   string
		client keepalive.ClientParameters
		want   bool
	}{
		{"this client", Keepalive, true},
		// What the check must refuse, so that it is known to be able to.
		{"pinging too often", keepalive.ClientParameters{Time: 10 * time.Second}, false},
	}
	for _, tt := range tests {
		if got := allowed(tt.client, recommendations.KeepaliveEnforcement); got != tt.want {
			t.Errorf("%s: allowed = %t, want %t", tt.name, got, tt.want)
		}
	}
}

// allowed reports whether a server enforcing policy lets a client with
// params ping it without sending GOAWAY too_many_pings.
func allowed(params keepalive.ClientParameters, policy keepalive.EnforcementPolicy) bool {
	return params.Time >= policy.MinTime && (!params.PermitWithoutStream || policy.PermitWithoutStream)
}

// One Instrumentation per registry serves every connection: the calls of
// two connections add up in one series. A second on the same registry is an
// error, not a panic.
func TestNewInstrumentation_RegistersOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	o := telemetry.Observability{Log: slog.New(slog.DiscardHandler), Metrics: reg}
	calls, err := NewInstrumentation(o)
	if err != nil {
		t.Fatal(err)
	}
	// Before any call, the series a call makes exist at zero.
	recommend := map[string]string{"grpc_method": "Recommend", "grpc_service": "bookstore.recommendations.v1.RecommendationsService"}
	for _, s := range []struct {
		name, code string
	}{
		{"grpc_client_started_total", ""}, {"grpc_client_handling_seconds", ""},
		{"grpc_client_handled_total", "OK"}, {"grpc_client_handled_total", "Unavailable"}, {"grpc_client_handled_total", "DeadlineExceeded"},
	} {
		labels := maps.Clone(recommend)
		if s.code != "" {
			labels["grpc_code"] = s.code
		}
		if got := testkit.Value(t, reg, s.name, labels); got != 0 {
			t.Errorf("%s%v before any call: got %v, want 0", s.name, labels, got)
		}
	}
	srv := recommendations.NewGRPCServer(telemetry.Observability{Log: o.Log, Metrics: prometheus.NewRegistry()},
		recommendations.NewService(recommendations.DefaultCatalog()), health.NewServer())
	for range 2 {
		conn := testkit.Dial(t, srv, calls.DialOptions(time.Second)...)
		if _, err := pb.NewRecommendationsServiceClient(conn).Recommend(t.Context(), &pb.RecommendRequest{Category: pb.BookCategory_BOOK_CATEGORY_MYSTERY}); err != nil {
			t.Fatal(err)
		}
	}
	handled := testkit.Value(t, reg, "grpc_client_handled_total", map[string]string{"grpc_method": "Recommend", "grpc_code": "OK"})
	if got, want := handled, 2.0; got != want {
		t.Errorf("grpc_client_handled_total: got %v, want %v", got, want)
	}
	// The real series replace the zeros; the others stay at zero.
	if got := testkit.Value(t, reg, "grpc_client_handled_total", map[string]string{"grpc_method": "Recommend", "grpc_code": "Unavailable"}); got != 0 {
		t.Errorf("grpc_client_handled_total Unavailable after two good calls: got %v, want 0", got)
	}
	if _, err := NewInstrumentation(o); err == nil {
		t.Error("second NewInstrumentation on one registry: got nil error")
	}
}
