package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onlinebooks/bookstore/go/testkit"
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
	r := &Report{Cells: []Cell{
		{Target: ChainPlaintext, Concurrency: 16, Throughput: 900, P50: 2 * time.Millisecond},
		{Target: BarePlaintext, Concurrency: 16, Throughput: 1000},
		{Target: ChainMTLS, Concurrency: 16, Throughput: 600},
		{Target: Page, Concurrency: 16, Throughput: 400, P50: 3 * time.Millisecond},
		{Target: PageBare, Concurrency: 16, Throughput: 500, P50: 2 * time.Millisecond},
	}}
	want := map[string]struct {
		value float64
		met   bool
	}{
		"full chain / chain off, req/s, c=16": {0.9, true},
		"mTLS / plaintext, req/s, c=16":       {600.0 / 900, false},
		"page p50 / Recommend p50, c=16":      {1.5, true},
		"page / bare page, req/s, c=16":       {0.8, false},
		"page / bare page, p50, c=16":         {1.5, false},
	}
	got := r.Ratios()
	if len(got) != len(want) {
		t.Fatalf("got %d ratios, want %d: %+v", len(got), len(want), got)
	}
	for _, q := range got {
		w, ok := want[q.Name]
		if !ok || q.Value != w.value || q.Met != w.met {
			t.Errorf("%s: got %.3f met %t, want %.3f met %t", q.Name, q.Value, q.Met, w.value, w.met)
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
		Images:        map[string]string{"recommendations": path("RECOMMENDATIONS_IMAGE"), "marketplace": path("MARKETPLACE_IMAGE")},
		Concurrencies: []int{1, 16},
		Reps:          2,
		Duration:      100 * time.Millisecond,
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
	var b bytes.Buffer
	r.Markdown(&b)
	for _, want := range []string{"| Recommend, chain off, plaintext | 16 |", "| page p50 / Recommend p50", "| marketplace |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
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
