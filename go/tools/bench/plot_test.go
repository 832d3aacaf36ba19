package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Plots draws reports of one or several concurrencies, with and without
// the overload run, into SVG files: one concurrency of 1 alone included,
// which gonum's log axis cannot take as it is.
func TestPlots(t *testing.T) {
	closedLoop := []string{"throughput.svg", "p99.svg"}
	for _, tc := range []struct {
		name          string
		concurrencies []int
		overload      bool
		want          []string
	}{
		{"three concurrencies", []int{1, 16, 64}, false, closedLoop},
		{"a concurrency of 1 alone", []int{1}, false, closedLoop},
		{"another alone", []int{16}, false, closedLoop},
		{"with the overload run", []int{1, 16}, true, append(closedLoop, "overload-goodput.svg", "overload-p99.svg")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{}
			for _, c := range tc.concurrencies {
				for i, target := range targets {
					r.Cells = append(r.Cells, Cell{Target: target, Concurrency: c, Throughput: float64(1000 * (i + c)), P50: time.Millisecond, P99: time.Duration(c) * time.Millisecond})
				}
			}
			if tc.overload {
				for _, service := range []string{"recommendations", "marketplace"} {
					o := Overload{Service: service, Capacity: 1000}
					for _, f := range overloadFactors {
						o.Runs = append(o.Runs, OverloadRun{Factor: f, Goodput: 900, P99: time.Duration(f*10) * time.Millisecond})
					}
					r.Overloads = append(r.Overloads, o)
				}
			}
			dir := t.TempDir()
			got, err := r.Plots(dir)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("Plots() = %v, %v; want %v, nil", got, err, tc.want)
			}
			for _, name := range got {
				if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !strings.Contains(string(b), "<svg") {
					t.Errorf("%s is not an SVG (%v): %.80q", name, err, b)
				}
			}
		})
	}
}
