package runner

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/onlinebooks/bookstore/go/platform/lifecycle"
	"github.com/onlinebooks/bookstore/go/platform/telemetry"
	"github.com/onlinebooks/bookstore/go/testkit"
)

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(testkit.FreePort(t)))
}

func TestRun_ServesBothPortsThenDrainsAndCloses(t *testing.T) {
	svc := Service{Name: "test", APIAddr: freeAddr(t), AdminAddr: freeAddr(t), APIListener: "api", ShutdownGrace: 5 * time.Second}
	var closed atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // when the test fails before it cancels
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, slog.New(slog.DiscardHandler), svc, func(o telemetry.Observability) (Parts, error) {
			hs := lifecycle.NewHealth()
			api := grpc.NewServer()
			healthpb.RegisterHealthServer(api, hs)
			probes := grpc.NewServer()
			healthpb.RegisterHealthServer(probes, hs)
			return Parts{API: GRPC{Server: api, Health: hs}, Probes: probes, Close: func() { closed.Add(1) }}, nil
		})
	}()

	testkit.WaitFor(t, 5*time.Second, "API serving", func() bool {
		_, code := testkit.HealthCheck(t, svc.APIAddr)
		return code == codes.OK
	})
	// The admin port serves the registry's metrics and the probes' gRPC.
	if code, body := testkit.Get("http://" + svc.AdminAddr + "/metrics"); code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("admin /metrics: got %d, want 200 with the runtime's metrics:\n%.300s", code, body)
	}
	if status, code := testkit.HealthCheck(t, svc.AdminAddr); code != codes.OK || status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("admin health: got %s, %s; want SERVING", status, code)
	}
	if got := closed.Load(); got != 0 {
		t.Errorf("Close called %d times while serving, want 0", got)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: got %v, want nil after a drain", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running 10 s after its context ended")
	}
	if got := closed.Load(); got != 1 {
		t.Errorf("Close called %d times after the drain, want 1", got)
	}
	if code, _ := testkit.Get("http://" + svc.AdminAddr + "/metrics"); code != 0 {
		t.Errorf("admin port after Run: got status %d, want nothing listening", code)
	}
}

func TestRun_Failures(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	buildErr := errors.New("no TLS files")
	tests := []struct {
		name       string
		svc        Service
		buildErr   error
		want       string
		wantClosed int32
	}{
		{"build fails", Service{APIAddr: freeAddr(t), AdminAddr: freeAddr(t)}, buildErr, "no TLS files", 0},
		{"API port taken", Service{APIAddr: taken.Addr().String(), AdminAddr: freeAddr(t), APIListener: "page"}, nil, "listening for page", 1},
		{"admin port taken", Service{APIAddr: freeAddr(t), AdminAddr: taken.Addr().String()}, nil, "listening for admin", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var closed atomic.Int32
			err := Run(context.Background(), slog.New(slog.DiscardHandler), tt.svc, func(telemetry.Observability) (Parts, error) {
				if tt.buildErr != nil {
					return Parts{}, tt.buildErr
				}
				return Parts{API: HTTP{Handler: http.NotFoundHandler()}, Close: func() { closed.Add(1) }}, nil
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: got %v, want an error saying %q", err, tt.want)
			}
			if got := closed.Load(); got != tt.wantClosed {
				t.Errorf("Close called %d times, want %d", got, tt.wantClosed)
			}
		})
	}
}

// While the API drains its last requests, the admin port still answers:
// probes and the last scrape are not refused.
func TestRun_AdminAnswersUntilTheAPIHasDrained(t *testing.T) {
	svc := Service{Name: "test", APIAddr: freeAddr(t), AdminAddr: freeAddr(t), APIListener: "page", ShutdownGrace: 10 * time.Second}
	arrived, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		w.Write([]byte("ok"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, slog.New(slog.DiscardHandler), svc, func(telemetry.Observability) (Parts, error) {
			return Parts{API: HTTP{Handler: slow}}, nil
		})
	}()
	testkit.WaitFor(t, 5*time.Second, "page serving", func() bool {
		code, _ := testkit.Get("http://" + svc.APIAddr + "/")
		return code == http.StatusOK
	})
	inFlight := make(chan int, 1)
	go func() {
		code, _ := testkit.Get("http://" + svc.APIAddr + "/slow")
		inFlight <- code
	}()
	<-arrived
	cancel()

	// The drain has begun; it cannot end while /slow is held.
	for range 5 {
		time.Sleep(50 * time.Millisecond)
		if code, _ := testkit.Get("http://" + svc.AdminAddr + "/metrics"); code != http.StatusOK {
			t.Fatalf("admin /metrics during the API's drain: got %d, want 200", code)
		}
	}
	close(release)
	if code := <-inFlight; code != http.StatusOK {
		t.Errorf("in-flight request: got %d, want 200", code)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
}

// Past MaxConns a new connection is not served until an open one closes:
// no client can grow the process by opening connections.
func TestRun_HTTPBoundsConnections(t *testing.T) {
	svc := Service{Name: "test", APIAddr: freeAddr(t), AdminAddr: freeAddr(t), APIListener: "page", ShutdownGrace: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, slog.New(slog.DiscardHandler), svc, func(telemetry.Observability) (Parts, error) {
			ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
			return Parts{API: HTTP{Handler: ok, MaxConns: 2}}, nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	testkit.WaitFor(t, 5*time.Second, "API serving", func() bool {
		code, _ := testkit.Get("http://" + svc.APIAddr + "/")
		return code == http.StatusOK
	})
	// testkit.Get's client keeps its connection for the next request: it
	// would hold one of the two.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()

	// ask sends a request on conn; answer reads the status line of its
	// response, waiting at most wait.
	ask := func(conn net.Conn) {
		if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: test\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	answer := func(conn net.Conn, wait time.Duration) (string, error) {
		conn.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, len("HTTP/1.1 200 OK"))
		_, err := io.ReadFull(conn, buf)
		return string(buf), err
	}
	var conns []net.Conn
	for range 3 {
		conn, err := net.Dial("tcp", svc.APIAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conns = append(conns, conn)
		ask(conn)
	}
	for i, conn := range conns[:2] {
		if got, err := answer(conn, 5*time.Second); got != "HTTP/1.1 200 OK" {
			t.Fatalf("connection %d of 2: got %q, %v; want 200", i+1, got, err)
		}
	}
	// The third is connected by the kernel, but the server does not take it
	// while the other two are open...
	if got, err := answer(conns[2], 300*time.Millisecond); err == nil {
		t.Fatalf("connection 3 of a bound of 2: got %q, want no answer while the other two are open", got)
	}
	// ...and does as soon as one of them closes.
	conns[0].Close()
	if got, err := answer(conns[2], 5*time.Second); got != "HTTP/1.1 200 OK" {
		t.Errorf("connection 3 once connection 1 closed: got %q, %v; want 200", got, err)
	}
}
