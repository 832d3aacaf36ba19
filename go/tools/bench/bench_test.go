package bench

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/onlinebooks/bookstore/go/testkit"
	"github.com/onlinebooks/bookstore/go/tools/loadgen"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{9, 1, 5}, 5}, {[]float64{4, 1, 3, 2}, 2}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v): got %g, want %g", tc.in, got, tc.want)
		}
	}
}

func TestRatios(t *testing.T) {
	ms := time.Millisecond
	r := &Report{Cells: []Cell{
		{Target: ChainPlaintext, Concurrency: 16, Throughput: 900, P50: 2 * ms, P99: 4 * ms},
		{Target: BarePlaintext, Concurrency: 16, Throughput: 1000, P50: 2 * ms, P99: 2 * ms},
		{Target: ChainMTLS, Concurrency: 16, Throughput: 600, P50: 3 * ms, P99: 8 * ms},
		{Target: Chain8, Concurrency: 16, Throughput: 500, P50: 1 * ms, P99: 1 * ms},
		{Target: Bare8, Concurrency: 16, Throughput: 1000, P50: 2 * ms, P99: 4 * ms},
		{Target: Page, Concurrency: 16, Throughput: 400, P50: 3 * ms, P99: 3 * ms},
		{Target: PageBare, Concurrency: 16, Throughput: 500, P50: 2 * ms, P99: 3 * ms},
		{Target: ChainPlaintext, Concurrency: 64, Throughput: 880, P50: 2 * ms, P99: 2 * ms},
		{Target: BarePlaintext, Concurrency: 64, Throughput: 1000, P50: 2 * ms, P99: 2 * ms},
		{Target: Page, Concurrency: 64, Throughput: 900, P50: 2 * ms, P99: 2 * ms},
		{Target: PageBare, Concurrency: 64, Throughput: 1000, P50: 2 * ms, P99: 2 * ms},
	}}
	want := []Ratio{
		{"Recommend, full chain / chain off, 1 connection", 16, 0.9, 1, 2, "req/s ≥ 0.85", true},
		{"Recommend, full chain / chain off, 1 connection", 64, 0.88, 1, 1, "req/s ≥ 0.90", false},
		{"Recommend, full chain / chain off, 8 connections", 16, 0.5, 0.5, 0.25, "", true},
		{"Recommend, mTLS / plaintext", 16, 600.0 / 900, 1.5, 2, "req/s ≥ 0.70", false},
		{"page / bare page", 16, 0.8, 1.5, 1, "req/s ≥ 0.85, p50 ≤ 1.2", false},
		{"page / bare page", 64, 0.9, 1, 1, "req/s ≥ 0.85, p50 ≤ 1.2", true},
	}
	got := r.Ratios()
	if len(got) != len(want) {
		t.Fatalf("got %d ratios, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ratio %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestOverloadVerdict(t *testing.T) {
	ms := time.Millisecond
	runs := func(goodput4 float64, p99low, p99high time.Duration) []OverloadRun {
		return []OverloadRun{{Factor: 0.5, Goodput: 50, P99: p99low}, {Factor: 1, Goodput: 110}, {Factor: 4, Goodput: goodput4, P99: p99high}}
	}
	for _, tc := range []struct {
		name        string
		o           Overload
		share, grow float64
		met         bool
	}{
		{"held", Overload{Capacity: 100, Runs: runs(99, 2*ms, 10*ms), PeakRSS: 50 << 20}, 0.9, 5, true},
		{"goodput fell", Overload{Capacity: 100, Runs: runs(88, 2*ms, 2*ms), PeakRSS: 50 << 20}, 0.8, 1, false},
		{"latency grew", Overload{Capacity: 100, Runs: runs(110, 2*ms, 12*ms), PeakRSS: 50 << 20}, 1, 6, false},
		{"over the memory limit", Overload{Capacity: 100, Runs: runs(110, 2*ms, 2*ms), PeakRSS: limitMemory}, 1, 1, false},
		{"crashed", Overload{Capacity: 100, Runs: runs(110, 2*ms, 2*ms), Crashed: true}, 1, 1, false},
		{"nothing measured", Overload{}, 0, 0, false},
	} {
		share, grow, met := tc.o.Verdict()
		if share != tc.share || grow != tc.grow || met != tc.met {
			t.Errorf("%s: got %.2f, %.2f, %t; want %.2f, %.2f, %t", tc.name, share, grow, met, tc.share, tc.grow, tc.met)
		}
	}
}

func TestBeyondReach(t *testing.T) {
	for _, tc := range []struct {
		name         string
		floor        *OverloadRun
		wantAnswered float64
		want         bool
	}{
		{"refusing alone keeps up", &OverloadRun{Offered: 1000, Sent: 990, Usage: Usage{CPU: 0.5}}, 0.99, false},
		{"refusing alone falls behind at its CPU limit", &OverloadRun{Offered: 1000, Sent: 500, Usage: Usage{CPU: 0.5}}, 0.5, true},
		{"just under the limit counts as at it", &OverloadRun{Offered: 1000, Sent: 500, Usage: Usage{CPU: 0.46}}, 0.5, true},
		{"the generator held it back, not the limit", &OverloadRun{Offered: 1000, Sent: 500, Usage: Usage{CPU: 0.2}}, 0.5, false},
		{"nothing offered", &OverloadRun{Usage: Usage{CPU: 0.5}}, 0, false},
		{"no floor", nil, 0, false},
	} {
		o := Overload{Floor: tc.floor}
		if got, beyond := o.FloorAnswered(), o.BeyondReach(); got != tc.wantAnswered || beyond != tc.want {
			t.Errorf("%s: got answered %v, beyond reach %t; want %v, %t", tc.name, got, beyond, tc.wantAnswered, tc.want)
		}
	}
}

func TestOverloadRun(t *testing.T) {
	result := func(outcomes map[string]int) loadgen.Result {
		r := loadgen.Result{Elapsed: time.Second, Outcomes: outcomes}
		for _, n := range outcomes {
			r.Latencies = append(r.Latencies, make([]time.Duration, n)...)
		}
		return r
	}
	for _, tc := range []struct {
		name                 string
		outcomes             map[string]int
		refused              string
		pastDeadline         []string
		wantRefused          float64
		wantPast, wantFailed int
	}{
		{"served", map[string]int{"OK": 10}, refusedRPC, pastDeadlineRPC, 0, 0, 0},
		{"refused and late calls", map[string]int{"OK": 5, "ResourceExhausted": 3, "DeadlineExceeded": 2}, refusedRPC, pastDeadlineRPC, 0.3, 2, 0},
		{"a call's fault", map[string]int{"OK": 6, "DeadlineExceeded": 1, "Internal": 2, "Unavailable": 1}, refusedRPC, pastDeadlineRPC, 0, 1, 3},
		{"pages", map[string]int{"OK": 4, "HTTP 503": 2, "timeout": 1, loadgen.DegradedPage: 2, "HTTP 500": 1}, refusedPage, pastDeadlinePage, 0.2, 3, 1},
		{"a refusal of the other kind", map[string]int{"OK": 1, "ResourceExhausted": 1}, refusedPage, pastDeadlinePage, 0, 0, 1},
		{"nothing sent", map[string]int{}, refusedRPC, pastDeadlineRPC, 0, 0, 0},
	} {
		got := overloadRun(2, 100, result(tc.outcomes), tc.refused, tc.pastDeadline)
		if got.Factor != 2 || got.Offered != 200 || got.Goodput != float64(tc.outcomes["OK"]) ||
			got.Refused != tc.wantRefused || got.PastDeadline != tc.wantPast || got.Failed != tc.wantFailed {
			t.Errorf("%s: got %+v, want offered 200, goodput %d/s, refused %.1f, %d past their deadline, %d failed",
				tc.name, got, tc.outcomes["OK"], tc.wantRefused, tc.wantPast, tc.wantFailed)
		}
	}
}

func TestParseCPUTime(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
		wantErr    bool
	}{
		// Fields 14 and 15, utime and stime, are 150 and 25 ticks.
		{"a server", "4242 (marketplace) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 25 0 0 20 0 9 0 100 0 0", 1750 * time.Millisecond, false},
		{"a name with spaces and parentheses", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0", 70 * time.Millisecond, false},
		{"cut short", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 3", 0, true},
		{"not a number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 3 four 0", 0, true},
		{"no name", "", 0, true},
	} {
		got, err := parseCPUTime(tc.stat)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: got %v, %v; want %v, error %t", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseCFSStats(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       cfsStats
		wantErr    bool
	}{
		{"version 2", "usage_usec 9000\nuser_usec 6000\nsystem_usec 3000\nnr_periods 40\nnr_throttled 30\nthrottled_usec 1500000\nnr_bursts 0\nburst_usec 0\n",
			cfsStats{periods: 40, throttled: 30, stopped: 1500 * time.Millisecond}, false},
		{"version 1", "nr_periods 40\nnr_throttled 30\nthrottled_time 1500000000\n", cfsStats{periods: 40, throttled: 30, stopped: 1500 * time.Millisecond}, false},
		{"version 1 with bursts", "nr_periods 7\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n", cfsStats{periods: 7}, false},
		{"no time throttled", "nr_periods 40\nnr_throttled 30\n", cfsStats{}, true},
		{"both versions' times", "nr_periods 40\nnr_throttled 30\nthrottled_usec 1\nthrottled_time 1000\n", cfsStats{}, true},
		{"usage only", "usage_usec 9000\nuser_usec 6000\nsystem_usec 3000\n", cfsStats{}, true},
		{"not a number", "nr_periods 40\nnr_throttled thirty\nthrottled_usec 0\n", cfsStats{}, true},
		{"empty", "", cfsStats{}, true},
	} {
		got, err := parseCFSStats(tc.stat)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: got %+v, %v; want %+v, error %t", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCFSStatsSince(t *testing.T) {
	before := cfsStats{periods: 10, throttled: 4, stopped: 100 * time.Millisecond}
	for _, tc := range []struct {
		name          string
		after         cfsStats
		wantThrottled float64
		wantStop      time.Duration
	}{
		{"stopped in half the periods", cfsStats{periods: 30, throttled: 14, stopped: 500 * time.Millisecond}, 0.5, 40 * time.Millisecond},
		{"never stopped", cfsStats{periods: 30, throttled: 4, stopped: 100 * time.Millisecond}, 0, 0},
		{"not run", before, 0, 0},
	} {
		throttled, stop := tc.after.since(before)
		if throttled != tc.wantThrottled || stop != tc.wantStop {
			t.Errorf("%s: got %v, %v; want %v, %v", tc.name, throttled, stop, tc.wantThrottled, tc.wantStop)
		}
	}
}

// spinEnv makes this test binary, started by startSpinner
// (cgroup_linux_test.go), spin instead of running tests: until it is
// killed, or for 10 s at most, should the test that started it be killed
// first.
const spinEnv = "BOOKSTORE_BENCH_SPIN"

func TestMain(m *testing.M) {
	if os.Getenv(spinEnv) != "" {
		for start := time.Now(); time.Since(start) < 10*time.Second; {
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestUsageCells(t *testing.T) {
	for _, tc := range []struct {
		name    string
		u       Usage
		limited bool
		want    string
	}{
		{"without limits", Usage{CPU: 0.8}, false, "0.80 | —"},
		{"never stopped", Usage{CPU: 0.3}, true, "0.30 | 0 %"},
		{"stopped", Usage{CPU: 0.5, Throttled: 0.97, Stop: 45 * time.Millisecond}, true, "0.50 | 97 %, 45.00 ms"},
	} {
		if got := tc.u.cells(tc.limited); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The whole benchmark, shortened: every cell measured without failures,
// every service's figures present, the table printed.
func TestRun_Short(t *testing.T) {
	path := func(env string) string { return testkit.Runfile(t, env) }
	cfg := Config{
		Recommendations: path("RECOMMENDATIONS_BIN"), Marketplace: path("MARKETPLACE_BIN"), BareRecommendations: path("BARE_RECOMMENDATIONS_BIN"), BarePage: path("BARE_PAGE_BIN"),
		CA: path("CA_CERT"), ServerCert: path("SERVER_CERT"), ServerKey: path("SERVER_KEY"),
		ClientCert: path("CLIENT_CERT"), ClientKey: path("CLIENT_KEY"),
		Images:           map[string]string{"recommendations": path("RECOMMENDATIONS_IMAGE"), "marketplace": path("MARKETPLACE_IMAGE")},
		Concurrencies:    []int{1, 16},
		Reps:             2,
		Duration:         100 * time.Millisecond,
		OverloadDuration: 200 * time.Millisecond,
		Progress:         logWriter{t},
	}
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(r.Cells), len(targets)*len(cfg.Concurrencies); got != want {
		t.Errorf("cells: got %d, want %d", got, want)
	}
	for _, c := range r.Cells {
		if c.Throughput <= 0 || c.P50 <= 0 || c.P99 < c.P50 || c.Failed != 0 {
			t.Errorf("%s at c=%d: %+v, want requests measured and none failed", c.Target, c.Concurrency, c)
		}
	}
	if len(r.Services) != 2 {
		t.Fatalf("services: got %+v, want recommendations and marketplace", r.Services)
	}
	for _, s := range r.Services {
		if s.StartUp <= 0 || s.IdleRSS <= 0 || s.PeakRSS < s.IdleRSS || s.ImageSize <= 0 {
			t.Errorf("%s: %+v, want every figure measured", s.Name, s)
		}
	}
	wantRows := []string{"| Recommend, chain off, plaintext | 16 |", "| page / bare page | 16 |", "| marketplace |", "| marketplace | | 4.0× |"}
	if len(r.Overloads) != 2 {
		t.Fatalf("overload runs: got %+v, want recommendations and marketplace", r.Overloads)
	}
	for _, o := range r.Overloads {
		if o.Capacity <= 0 || len(o.Runs) != len(overloadFactors) || o.PeakRSS <= 0 || o.Crashed {
			t.Errorf("overload run of %s: %+v, want capacity, a run per load, peak RSS, no crash", o.Service, o)
		}
		// The page's floor, where the limits could be set (they can in
		// tools/test's runs, as root).
		wantFloor := o.Service == "marketplace" && o.Limited
		if f := o.Floor; (f != nil) != wantFloor || f != nil && (f.Sent <= 0 || f.Goodput != 0 || f.Refused <= 0 || f.Failed != 0 || f.P99 <= 0) {
			t.Errorf("%s, refusing alone: %+v (limits: %s), want it measured (refusals only, their p99) for the page within its limits only", o.Service, f, o.Confined)
		}
		if wantFloor {
			wantRows = append(wantRows, "| marketplace, refusing alone")
		}
		for _, run := range o.Runs {
			// How many missed their deadline, and so what the service
			// served and the CPU it used, depends on the CPU this machine
			// gives the run and its generator: figures, not asserted (in
			// CI, beside other tests, every request of a run has missed
			// it). That it serves again afterwards, Run requires.
			if run.Sent <= 0 || run.Failed != 0 {
				t.Errorf("%s at %.1f×: %+v, want requests sent, none failed", o.Service, run.Factor, run)
			}
		}
		used := []Usage{o.AtCapacity}
		for _, run := range o.Runs {
			used = append(used, run.Usage)
		}
		// CPU time is read in 10 ms ticks, and a 200 ms run may use less
		// (the race-built generator, beside other tests, holds the load
		// back): the service's runs together must show it measured.
		// Whether a load stops a service depends on how fast this
		// machine, and the test's race-built generator, are (in CI, beside
		// other tests, nothing may be): TestConfine shows stops are read.
		// Without limits, none may be (nor is there a floor).
		var cpu float64
		for _, u := range used {
			cpu += u.CPU
			if !o.Limited && (u.Throttled != 0 || u.Stop != 0) {
				t.Errorf("%s without limits: %s; want no stops", o.Service, u.summary())
			}
		}
		if cpu <= 0 {
			t.Errorf("%s: no CPU used in %d runs, want it measured", o.Service, len(used))
		}
	}
	var b bytes.Buffer
	r.Markdown(&b)
	for _, want := range wantRows {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// logWriter logs each progress line of a test's run, shown should it fail.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func TestRun_RefusesAnUnboundedMatrix(t *testing.T) {
	for _, cfg := range []Config{
		{Reps: 0, Concurrencies: []int{1}},
		{Reps: 21, Concurrencies: []int{1}},
		{Reps: 1},
		{Reps: 1, Concurrencies: make([]int, 9)},
	} {
		if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "repetitions") {
			t.Errorf("Run(%d reps, %d concurrencies): got %v, want a refusal", cfg.Reps, len(cfg.Concurrencies), err)
		}
	}
}
