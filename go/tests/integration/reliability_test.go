package integration

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/onlinebooks/bookstore/go/marketplace"
	"github.com/onlinebooks/bookstore/go/testkit"
	"github.com/onlinebooks/bookstore/go/tools/loadgen"
)

// calls scrapes the /metrics of an admin port and returns how many calls
// the counter metric counts: those that ended OK, or those that did not.
func calls(t *testing.T, adminAddr, metric string, ok bool) float64 {
	t.Helper()
	_, text := testkit.Get("http://" + adminAddr + "/metrics")
	n, err := testkit.Sum(text, metric, func(labels map[string]string) bool {
		return (labels["grpc_code"] == "OK") == ok
	})
	if err != nil {
		t.Fatalf("%s/metrics: %v", adminAddr, err)
	}
	return n
}

// pageLoad runs loadgen's page load in the background; wait returns its result.
func pageLoad(t *testing.T, url string, cfg loadgen.Config) (wait func() loadgen.Result) {
	done := make(chan loadgen.Result, 1)
	go func() {
		op := loadgen.PageOp(loadgen.HTTPClient(cfg.Concurrency), url, []byte(marketplace.UnavailableNotice), 5*time.Second)
		r, err := loadgen.Run(context.Background(), cfg, op)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	return func() loadgen.Result { return <-done }
}

// Two Recommendations replicas behind Marketplace's round robin, steady page
// load, and SIGTERM to one of them mid-run (a rolling update, a node
// drain): no page degrades, no call fails, and the replica drains and exits
// 0 within its grace period.
func TestSIGTERM_UnderLoad_NothingFails(t *testing.T) {
	const grace = 5 * time.Second
	recsFlags := []string{"-admin-addr=127.0.0.1:0", "-shutdown-grace=" + grace.String()}
	// The replicas share a port on the two loopback addresses that
	// "localhost" resolves to, as pods share a port behind one DNS name.
	a := start(t, "RECOMMENDATIONS_BIN", append(recsFlags, "-grpc-addr=127.0.0.1:0")...)
	aAddrs := a.ListenAddrs(startupLimit, "api", "admin")
	_, port, _ := net.SplitHostPort(aAddrs["api"])
	b := start(t, "RECOMMENDATIONS_BIN", append(recsFlags, "-grpc-addr=[::1]:"+port)...)
	bAddrs := b.ListenAddrs(startupLimit, "api", "admin")
	market := start(t, "MARKETPLACE_BIN", "-http-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0",
		"-recommendations-host=dns:///localhost:"+port, "-recommendations-timeout=2s")
	marketAddrs := market.ListenAddrs(startupLimit, "page", "admin")
	page := "http://" + marketAddrs["page"] + "/?category=mystery"

	testkit.WaitFor(t, 10*time.Second, "both replicas serve the page", func() bool {
		testkit.Get(page)
		return calls(t, aAddrs["admin"], "grpc_server_handled_total", true) > 0 &&
			calls(t, bAddrs["admin"], "grpc_server_handled_total", true) > 0
	})
	okBefore := calls(t, marketAddrs["admin"], "grpc_client_handled_total", true)
	failedBefore := calls(t, marketAddrs["admin"], "grpc_client_handled_total", false)

	wait := pageLoad(t, page, loadgen.Config{Concurrency: 8, Rate: 200, Duration: 4 * time.Second})
	time.Sleep(1500 * time.Millisecond)
	servedByA := calls(t, aAddrs["admin"], "grpc_server_handled_total", true)
	sent := time.Now()
	if got := a.Terminate(grace); got != 0 {
		t.Errorf("replica's exit code after SIGTERM: got %d, want 0", got)
	}
	exitedAfter := time.Since(sent)
	r := wait()

	failed := calls(t, marketAddrs["admin"], "grpc_client_handled_total", false) - failedBefore
	rpcs := calls(t, marketAddrs["admin"], "grpc_client_handled_total", true) - okBefore + failed
	servedByB := calls(t, bAddrs["admin"], "grpc_server_handled_total", true)
	t.Logf("pages: %d (%.0f/s, p50 %s, p99 %s), outcomes %v; RPCs: %.0f, %.0f failed; stopped replica served %.0f and exited %s after SIGTERM, the other served %.0f",
		r.Requests(), r.Throughput(), r.Percentile(50), r.Percentile(99), r.Outcomes, rpcs, failed, servedByA, exitedAfter.Round(time.Millisecond), servedByB)
	if r.Requests() == 0 || r.Failed() != 0 {
		t.Errorf("page load: %d requests, %d failed (%v); want some, none failed", r.Requests(), r.Failed(), r.Outcomes)
	}
	if failed != 0 {
		t.Errorf("Marketplace saw %.0f failed RPCs, want 0", failed)
	}
}

// Recommendations slower than Marketplace's deadline: the page does not
// wait for it, and answers with the degraded section soon after the deadline.
func TestSlowRecommendations_PageAnswersAtTheDeadline(t *testing.T) {
	const deadline = 300 * time.Millisecond
	recs := start(t, "SLOW_RECOMMENDATIONS_BIN", "-grpc-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0", "-delay=5s")
	market := start(t, "MARKETPLACE_BIN", "-http-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0",
		"-recommendations-host="+recs.ListenAddrs(startupLimit, "api", "admin")["api"], "-recommendations-timeout="+deadline.String())
	page := "http://" + market.ListenAddrs(startupLimit, "page", "admin")["page"] + "/"

	began := time.Now()
	code, body := testkit.Get(page)
	took := time.Since(began)
	t.Logf("degraded page in %s with a %s deadline", took.Round(time.Millisecond), deadline)
	if code != 200 || !strings.Contains(body, marketplace.UnavailableNotice) {
		t.Errorf("got %d, want 200 with the degraded section:\n%s", code, body)
	}
	// A deadline the page ignored would show as the server's 5 s; the
	// margin is wide so that a slow machine does not fail the test.
	if limit := deadline + 2*time.Second; took > limit {
		t.Errorf("page took %s, want at most the deadline %s plus a margin (%s)", took, deadline, limit)
	}
}

// Recommendations killed (no drain: a crash, an OOM kill) under page load:
// pages degrade, never fail. Restarted at the same address: pages recover
// without restarting Marketplace, and the time that takes is reported.
func TestKilledRecommendations_PagesDegradeThenRecover(t *testing.T) {
	recs := start(t, "RECOMMENDATIONS_BIN", "-grpc-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0")
	addr := recs.ListenAddrs(startupLimit, "api", "admin")["api"]
	market := start(t, "MARKETPLACE_BIN", "-http-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0",
		"-recommendations-host="+addr, "-recommendations-timeout=1s")
	page := "http://" + market.ListenAddrs(startupLimit, "page", "admin")["page"] + "/"
	testkit.WaitFor(t, 10*time.Second, "a full page", func() bool {
		_, body := testkit.Get(page)
		return strings.Count(body, "<li>") == 3
	})

	wait := pageLoad(t, page, loadgen.Config{Concurrency: 4, Rate: 100, Duration: 3 * time.Second})
	time.Sleep(500 * time.Millisecond)
	recs.Kill()
	time.Sleep(time.Second)
	restarted := time.Now()
	start(t, "RECOMMENDATIONS_BIN", "-grpc-addr="+addr, "-admin-addr=127.0.0.1:0").ListenAddrs(startupLimit, "api", "admin")
	testkit.WaitFor(t, 15*time.Second, "the page recovers without restarting Marketplace", func() bool {
		_, body := testkit.Get(page)
		return strings.Count(body, "<li>") == 3
	})
	recovered := time.Since(restarted)
	r := wait()
	t.Logf("pages: %d, outcomes %v; full pages again %s after the restart", r.Requests(), r.Outcomes, recovered.Round(time.Millisecond))
	if got := r.Outcomes[loadgen.DegradedPage]; got == 0 {
		t.Errorf("no degraded page while Recommendations was down: %v", r.Outcomes)
	}
	if got := r.Requests() - r.Outcomes[loadgen.OK] - r.Outcomes[loadgen.DegradedPage]; got != 0 {
		t.Errorf("%d pages failed outright (%v), want each full or degraded", got, r.Outcomes)
	}
}
