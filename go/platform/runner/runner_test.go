package runner

import (
	"context"
	"errors"
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
