package testkit

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Eventually reports whether ok held within limit, asking every 50 ms.
func Eventually(limit time.Duration, ok func() bool) bool {
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// WaitFor fails the test unless ok holds within limit; what names it.
func WaitFor(t testing.TB, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	if !Eventually(limit, ok) {
		t.Fatalf("%s: not within %s", what, limit)
	}
}

// Get fetches url with a 5 s timeout; a failed request is status 0 with the
// error as body.
func Get(url string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(b)
}

// HealthCheck calls grpc.health.v1.Health/Check at addr in plaintext, as a
// probe does, within 5 s: the status it reports and the call's code.
func HealthCheck(t testing.TB, addr string) (healthpb.HealthCheckResponse_ServingStatus, codes.Code) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return resp.GetStatus(), status.Code(err)
}

// FreePort is a loopback port nothing listens on now, for a server the test
// starts with a fixed address (Compose's published port, a runner's
// listeners). Another process could take it first; on loopback in a test's
// sandbox none does.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
