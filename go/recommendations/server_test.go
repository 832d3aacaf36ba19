package recommendations

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// dial serves svc with NewGRPCServer on an in-memory listener and returns a
// client connection to it.
func dial(t *testing.T, svc pb.RecommendationsServiceServer) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := NewGRPCServer(svc, health.NewServer())
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestGRPC_Recommend(t *testing.T) {
	client := pb.NewRecommendationsServiceClient(dial(t, NewService(DefaultCatalog(), WithRand(newSeededRand(5)))))
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

func TestGRPC_HealthAndReflection(t *testing.T) {
	conn := dial(t, NewService(DefaultCatalog()))
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
	client := pb.NewRecommendationsServiceClient(dial(t, NewService(DefaultCatalog(), WithExtraLatency(latency))))
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
