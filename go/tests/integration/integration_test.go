// Package integration tests the real recommendations and marketplace binaries
// together, on ephemeral loopback ports.
package integration

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/onlinebooks/bookstore/go/marketplace"
	"github.com/onlinebooks/bookstore/go/testkit"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

func TestMarketplaceShowsRecommendations_DegradesAndRecovers(t *testing.T) {
	for _, mode := range []string{"plaintext", "mtls"} {
		t.Run(mode, func(t *testing.T) { testPage(t, mode) })
	}
}

func testPage(t *testing.T, mode string) {
	var recsTLS, marketTLS []string
	if mode == "mtls" {
		recsTLS = []string{"-tls-mode=mtls", "-tls-cert=" + testkit.Cert(t, "recommendations.pem"),
			"-tls-key=" + testkit.Cert(t, "recommendations.key"), "-tls-client-ca=" + testkit.Cert(t, "ca.pem")}
		marketTLS = []string{"-tls-mode=mtls", "-tls-ca=" + testkit.Cert(t, "ca.pem"),
			"-tls-cert=" + testkit.Cert(t, "marketplace.pem"), "-tls-key=" + testkit.Cert(t, "marketplace.key")}
	}
	recs := start(t, "RECOMMENDATIONS_BIN", append([]string{"-grpc-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0"}, recsTLS...)...)
	recsAddrs := recs.ListenAddrs(startupLimit, "api", "admin")
	recsAddr := recsAddrs["api"]
	market := start(t, "MARKETPLACE_BIN", append([]string{"-http-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0",
		"-recommendations-host=" + recsAddr, "-recommendations-timeout=1s"}, marketTLS...)...)
	marketAddrs := market.ListenAddrs(startupLimit, "page", "admin")
	base := "http://" + marketAddrs["page"]

	testkit.WaitFor(t, 10*time.Second, "marketplace ready", func() bool {
		code, _ := testkit.Get(base + "/readyz")
		return code == http.StatusOK
	})
	code, body := testkit.Get(base + "/?category=science-fiction")
	if code != http.StatusOK {
		t.Fatalf("page: status %d: %s", code, body)
	}
	if !strings.Contains(body, "<h1>Science fiction books you may like</h1>") {
		t.Errorf("page lacks its heading:\n%s", body)
	}
	if got, want := strings.Count(body, "<li>"), 3; got != want {
		t.Errorf("page lists %d books, want %d:\n%s", got, want, body)
	}

	// Probes reach gRPC health on the plaintext admin port in every mode; the
	// API port takes plaintext calls only when it is plaintext.
	if _, got := testkit.HealthCheck(t, recsAddrs["admin"]); got != codes.OK {
		t.Errorf("health on the admin port: got %s, want OK", got)
	}
	wantAPI := map[string]codes.Code{"plaintext": codes.OK, "mtls": codes.Unavailable}[mode]
	if _, got := testkit.HealthCheck(t, recsAddr); got != wantAPI {
		t.Errorf("plaintext health on the API port: got %s, want %s", got, wantAPI)
	}

	// Both admin ports serve the documented metrics.
	for _, m := range []struct{ addr, series string }{
		{recsAddrs["admin"], `grpc_server_handled_total{grpc_code="OK",grpc_method="Recommend"`},
		{recsAddrs["admin"], "grpc_server_handling_seconds_bucket"},
		{recsAddrs["admin"], "go_goroutines"},
		{marketAddrs["admin"], `http_requests_total{code="200",method="GET",route="GET /{$}"}`},
		{marketAddrs["admin"], `grpc_client_handled_total{grpc_code="OK",grpc_method="Recommend"`},
		{marketAddrs["admin"], "process_resident_memory_bytes"},
	} {
		if _, text := testkit.Get("http://" + m.addr + "/metrics"); !strings.Contains(text, m.series) {
			t.Errorf("%s/metrics lacks %s", m.addr, m.series)
		}
	}

	if got := recs.Terminate(15 * time.Second); got != 0 {
		t.Errorf("recommendations exit code: got %d, want 0", got)
	}
	code, body = testkit.Get(base + "/")
	if code != http.StatusOK || !strings.Contains(body, marketplace.UnavailableNotice) {
		t.Errorf("with recommendations down: got %d, want 200 with the notice:\n%s", code, body)
	}
	if code, _ := testkit.Get(base + "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with recommendations down: got %d, want 503", code)
	}

	start(t, "RECOMMENDATIONS_BIN", append([]string{"-grpc-addr=" + recsAddr, "-admin-addr=127.0.0.1:0"}, recsTLS...)...).ListenAddrs(startupLimit, "api", "admin")
	testkit.WaitFor(t, 10*time.Second, "page recovers without restarting marketplace", func() bool {
		_, body := testkit.Get(base + "/")
		return strings.Count(body, "<li>") == 3
	})

	if got := market.Terminate(15 * time.Second); got != 0 {
		t.Errorf("marketplace exit code: got %d, want 0", got)
	}
}

func TestSIGTERM_InFlightCallSucceeds(t *testing.T) {
	const grace = 5 * time.Second
	recs := start(t, "SLOW_RECOMMENDATIONS_BIN", "-grpc-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0", "-delay=1s", "-shutdown-grace="+grace.String())
	conn, err := grpc.NewClient(recs.ListenAddrs(startupLimit, "api", "admin")["api"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pb.NewRecommendationsServiceClient(conn)

	type result struct {
		resp *pb.RecommendResponse
		err  error
	}
	called := make(chan result, 1)
	go func() {
		resp, err := client.Recommend(context.Background(), &pb.RecommendRequest{Category: pb.BookCategory_BOOK_CATEGORY_MYSTERY})
		called <- result{resp, err}
	}()
	// The call waits 1s on the server; SIGTERM lands in the middle of it.
	time.Sleep(300 * time.Millisecond)
	if got := recs.Terminate(grace); got != 0 {
		t.Errorf("exit code: got %d, want 0", got)
	}
	r := <-called
	if r.err != nil || len(r.resp.GetBooks()) != 3 {
		t.Errorf("in-flight call: got (%v, %v), want 3 books", r.resp.GetBooks(), r.err)
	}
	if !strings.Contains(recs.Logs(), `"msg":"gRPC server drained"`) {
		t.Errorf("logs do not show a graceful drain:\n%s", recs.Logs())
	}
}

// Clients watching health, on the API port and on the admin port, hear
// NOT_SERVING at SIGTERM and do not hold the process: it exits as soon as
// its calls have ended, well inside its grace.
func TestSIGTERM_HealthWatchersDoNotHoldTheDrain(t *testing.T) {
	const grace = 10 * time.Second
	recs := start(t, "RECOMMENDATIONS_BIN", "-grpc-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0", "-shutdown-grace="+grace.String())
	addrs := recs.ListenAddrs(startupLimit, "api", "admin")
	var streams []healthpb.Health_WatchClient
	for _, addr := range []string{addrs["api"], addrs["admin"]} {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		stream, err := healthpb.NewHealthClient(conn).Watch(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := stream.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("watch %s: got %v, %v; want SERVING", addr, resp, err)
		}
		streams = append(streams, stream)
	}
	began := time.Now()
	if got := recs.Terminate(grace / 2); got != 0 {
		t.Errorf("exit code: got %d, want 0", got)
	}
	t.Logf("exited %s after SIGTERM, with %d health watchers open and a %s grace", time.Since(began).Round(time.Millisecond), len(streams), grace)
	for i, stream := range streams {
		if resp, err := stream.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("watch %d: got %v, %v; want NOT_SERVING before the end", i, resp, err)
		}
	}
}
