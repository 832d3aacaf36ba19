package recommendations

import (
	"context"
	"log/slog"
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
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/platform/telemetry"
	"github.com/onlinebooks/bookstore/go/recommendations/recommendationstest"
	"github.com/onlinebooks/bookstore/go/testkit"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// dial serves svc with NewGRPCServer in memory and returns a client
// connection to it, and the registry of the server's metrics.
func dial(t *testing.T, svc pb.RecommendationsServiceServer) (*grpc.ClientConn, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o := telemetry.Observability{Log: slog.New(slog.DiscardHandler), Metrics: reg}
	return testkit.Dial(t, NewGRPCServer(o, svc, health.NewServer())), reg
}

func TestGRPC_Recommend(t *testing.T) {
	conn, _ := dial(t, NewService(DefaultCatalog(), WithRand(newSeededRand(5))))
	client := pb.NewRecommendationsServiceClient(conn)
	tests := []struct {
		name      string
		req       *pb.RecommendRequest
		wantCode  codes.Code
		wantBooks int
	}{
		{"mystery", &pb.RecommendRequest{UserId: 1, Category: mystery, MaxResults: 3}, codes.OK, 3},
		{"default count", &pb.RecommendRequest{Category: scifi}, codes.OK, DefaultMaxResults},
		{"unknown category is NOT_FOUND", &pb.RecommendRequest{Category: 99}, codes.NotFound, 0},
		{"unset category is INVALID_ARGUMENT", &pb.RecommendRequest{}, codes.InvalidArgument, 0},
		{"negative max_results is INVALID_ARGUMENT", &pb.RecommendRequest{Category: mystery, MaxResults: -3}, codes.InvalidArgument, 0},
		{"huge max_results is INVALID_ARGUMENT", &pb.RecommendRequest{Category: mystery, MaxResults: 1 << 30}, codes.InvalidArgument, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Recommend(context.Background(), tt.req)
			if got, want := status.Code(err), tt.wantCode; got != want {
				t.Fatalf("code: got %s (%v), want %s", got, err, want)
			}
			if got, want := len(resp.GetBooks()), tt.wantBooks; got != want {
				t.Errorf("got %d books, want %d", got, want)
			}
		})
	}
}

func TestGRPC_UnknownCategoryCountsAsNotFound(t *testing.T) {
	conn, reg := dial(t, NewService(DefaultCatalog()))
	notFound := func() float64 {
		return testkit.Value(t, reg, "grpc_server_handled_total", map[string]string{
			"grpc_service": "bookstore.recommendations.v1.RecommendationsService", "grpc_method": "Recommend", "grpc_code": "NotFound",
		})
	}
	before := notFound()
	_, err := pb.NewRecommendationsServiceClient(conn).Recommend(context.Background(), &pb.RecommendRequest{Category: 42})
	if got, want := status.Code(err), codes.NotFound; got != want {
		t.Fatalf("code: got %s, want %s", got, want)
	}
	if got, want := notFound()-before, 1.0; got != want {
		t.Errorf("grpc_server_handled_total{grpc_code=\"NotFound\"} went up by %v, want %v", got, want)
	}
}

func TestGRPC_HealthAndReflection(t *testing.T) {
	conn, _ := dial(t, NewService(DefaultCatalog()))
	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.GetStatus(), healthpb.HealthCheckResponse_SERVING; got != want {
		t.Errorf("health: got %s, want %s", got, want)
	}

	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	listed, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range listed.GetListServicesResponse().GetService() {
		found = found || s.GetName() == "bookstore.recommendations.v1.RecommendationsService"
	}
	if !found {
		t.Errorf("reflection lists %v, want RecommendationsService among them", listed.GetListServicesResponse().GetService())
	}
}

// The seed's concurrency lesson: a server handles calls concurrently, so five
// calls that each take 200 ms finish in about 200 ms, not one second.
func TestGRPC_CallsRunConcurrently(t *testing.T) {
	const calls, latency = 5, 200 * time.Millisecond
	conn, _ := dial(t, recommendationstest.Slow(NewService(DefaultCatalog()), latency))
	client := pb.NewRecommendationsServiceClient(conn)
	start := time.Now()
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if _, err := client.Recommend(context.Background(), &pb.RecommendRequest{Category: mystery}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if elapsed, serial := time.Since(start), calls*latency; elapsed >= serial*3/4 {
		t.Errorf("%d calls of %s took %s, want well under the %s they take one after another", calls, latency, elapsed, serial)
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// With a maximum age the server ends connections and the client dials again
// (and so resolves the name again); without one, a client keeps its first
// connection.
func TestMaxConnectionAge_ClientsReconnect(t *testing.T) {
	tests := []struct {
		name             string
		age              time.Duration
		wantMin, wantMax int64
	}{
		{"no limit", 0, 1, 1},
		// About ten ages pass; grpc-go adds up to 10% jitter to each.
		{"100ms", 100 * time.Millisecond, 3, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			lis := &countingListener{Listener: inner}
			o := telemetry.Observability{Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()}
			srv := NewGRPCServer(o, NewService(DefaultCatalog()), health.NewServer(), MaxConnectionAge(tt.age, time.Second))
			go srv.Serve(lis)
			defer srv.Stop()
			conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()

			client := healthpb.NewHealthClient(conn)
			for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				if _, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
					t.Fatalf("a call failed while connections were cycled: %v", err)
				}
			}
			if got := lis.accepted.Load(); got < tt.wantMin || got > tt.wantMax {
				t.Errorf("connections accepted in 1s: got %d, want %d to %d", got, tt.wantMin, tt.wantMax)
			}
		})
	}
}
