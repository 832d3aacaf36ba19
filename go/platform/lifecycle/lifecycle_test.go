package lifecycle

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// slowServer answers any method after delay, and says when a call arrived.
func slowServer(delay time.Duration, arrived chan<- struct{}) *grpc.Server {
	return grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		if err := stream.RecvMsg(&emptypb.Empty{}); err != nil {
			return err
		}
		arrived <- struct{}{}
		select {
		case <-time.After(delay):
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
		return stream.SendMsg(&emptypb.Empty{})
	}))
}

type served struct {
	conn   *grpc.ClientConn
	health *Health
	cancel context.CancelFunc
	done   chan error
}

func serve(t *testing.T, srv *grpc.Server, grace time.Duration) served {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	hs := NewHealth()
	healthpb.RegisterHealthServer(srv, hs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeGRPC(ctx, discard, srv, lis, hs, grace) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); cancel() })
	return served{conn: conn, health: hs, cancel: cancel, done: done}
}

func TestServeGRPC_InFlightCallFinishesDuringDrain(t *testing.T) {
	arrived := make(chan struct{}, 1)
	s := serve(t, slowServer(300*time.Millisecond, arrived), 5*time.Second)

	callErr := make(chan error, 1)
	go func() {
		callErr <- s.conn.Invoke(context.Background(), "/test.Slow/Call", &emptypb.Empty{}, &emptypb.Empty{})
	}()
	<-arrived
	s.cancel()

	if err := <-callErr; err != nil {
		t.Errorf("in-flight call: got %v, want success", err)
	}
	if err := <-s.done; err != nil {
		t.Errorf("ServeGRPC: got %v, want nil", err)
	}
	resp, err := s.health.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.GetStatus(), healthpb.HealthCheckResponse_NOT_SERVING; got != want {
		t.Errorf("health after shutdown: got %s, want %s", got, want)
	}
}

// Clients watching health are told NOT_SERVING when the drain begins, and
// their streams then end: they do not hold the drain until its grace.
func TestServeGRPC_WatchStreamsEndAtShutdown(t *testing.T) {
	const grace = 10 * time.Second
	s := serve(t, grpc.NewServer(), grace)
	hc := healthpb.NewHealthClient(s.conn)
	var streams []healthpb.Health_WatchClient
	for range 3 {
		stream, err := hc.Watch(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := stream.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("first status: got %v, %v; want SERVING", resp, err)
		}
		streams = append(streams, stream)
	}
	began := time.Now()
	s.cancel()
	for i, stream := range streams {
		if resp, err := stream.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("stream %d at shutdown: got %v, %v; want NOT_SERVING", i, resp, err)
		}
		if _, err := stream.Recv(); status.Code(err) != codes.Unavailable {
			t.Errorf("stream %d after NOT_SERVING: got %v, want it ended UNAVAILABLE", i, err)
		}
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("ServeGRPC: got %v, want nil", err)
		}
		// Well inside the grace: nothing held the drain.
		if took := time.Since(began); took > grace/2 {
			t.Errorf("drain took %s with watchers open, want well under the %s grace", took, grace)
		}
	case <-time.After(grace / 2):
		t.Errorf("ServeGRPC still draining %s after the cancel: the watchers hold it", grace/2)
	}
}

func TestServeGRPC_CallLongerThanGraceIsCutOff(t *testing.T) {
	arrived := make(chan struct{}, 1)
	s := serve(t, slowServer(time.Hour, arrived), 100*time.Millisecond)

	callErr := make(chan error, 1)
	go func() {
		callErr <- s.conn.Invoke(context.Background(), "/test.Slow/Call", &emptypb.Empty{}, &emptypb.Empty{})
	}()
	<-arrived
	s.cancel()

	if err := <-s.done; err != nil {
		t.Errorf("ServeGRPC: got %v, want nil", err)
	}
	if got, want := status.Code(<-callErr), codes.Unavailable; got != want {
		t.Errorf("cut-off call: got %s, want %s", got, want)
	}
}

func TestServeGRPC_ReturnsServeError(t *testing.T) {
	lis := bufconn.Listen(1 << 10)
	lis.Close()
	err := ServeGRPC(context.Background(), discard, grpc.NewServer(), lis, nil, time.Second)
	if err == nil {
		t.Error("ServeGRPC on a closed listener: got nil, want an error")
	}
}

func TestServeHTTP_InFlightRequestFinishesDuringDrain(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	})}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ServeHTTP(ctx, discard, srv, lis, 5*time.Second) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + lis.Addr().String())
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-arrived
	cancel()

	if r := <-got; r.err != nil || r.body != "done" {
		t.Errorf("in-flight request: got (%q, %v), want (done, nil)", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Errorf("ServeHTTP: got %v, want nil", err)
	}
}
