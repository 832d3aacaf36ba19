package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// A comparison is a target against its reference, measured in the same
// run: the project against its bare reference, or mTLS against plaintext.
type comparison struct {
	name, target, reference string
	// want gives the ratios the target must reach at concurrency c: at
	// least minThroughput of the reference's requests per second, and at
	// most maxP50 times its median latency (0: no bound).
	want func(c int) (minThroughput, maxP50 float64)
}

var comparisons = []comparison{
	// Issue 19: at least 0.9 where one connection is busiest; the earlier
	// steps' 0.85 below it.
	{"Recommend, full chain / chain off, 1 connection", ChainPlaintext, BarePlaintext, func(c int) (float64, float64) {
		if c >= 64 {
			return 0.9, 0
		}
		return 0.85, 0
	}},
	{"Recommend, full chain / chain off, 8 connections", Chain8, Bare8, func(int) (float64, float64) { return 0, 0 }},
	{"Recommend, mTLS / plaintext", ChainMTLS, ChainPlaintext, func(int) (float64, float64) { return 0.7, 0 }},
	// Issue 19, where the page's machinery is under load.
	{"page / bare page", Page, PageBare, func(c int) (float64, float64) {
		if c >= 16 {
			return 0.85, 1.2
		}
		return 0, 0
	}},
}

// cell returns the cell of target at concurrency c.
func (r *Report) cell(target string, c int) (Cell, bool) {
	for _, cell := range r.Cells {
		if cell.Target == target && cell.Concurrency == c {
			return cell, true
		}
	}
	return Cell{}, false
}

// Ratio is one comparison at one concurrency: the target's figures over
// the reference's, and whether they reach what is wanted of them.
type Ratio struct {
	Name                 string
	Concurrency          int
	Throughput, P50, P99 float64
	Target               string // what is wanted, "" for nothing
	Met                  bool
}

// Ratios makes every comparison at each concurrency measured.
func (r *Report) Ratios() []Ratio {
	var ratios []Ratio
	for _, cmp := range comparisons {
		for _, c := range r.concurrencies() {
			target, ok1 := r.cell(cmp.target, c)
			ref, ok2 := r.cell(cmp.reference, c)
			if !ok1 || !ok2 || ref.Throughput == 0 || ref.P50 == 0 || ref.P99 == 0 {
				continue
			}
			q := Ratio{
				Name:        cmp.name,
				Concurrency: c,
				Throughput:  target.Throughput / ref.Throughput,
				P50:         float64(target.P50) / float64(ref.P50),
				P99:         float64(target.P99) / float64(ref.P99),
				Met:         true,
			}
			minThroughput, maxP50 := cmp.want(c)
			var wants []string
			if minThroughput > 0 {
				wants = append(wants, fmt.Sprintf("req/s ≥ %.2f", minThroughput))
				q.Met = q.Met && q.Throughput >= minThroughput
			}
			if maxP50 > 0 {
				wants = append(wants, fmt.Sprintf("p50 ≤ %.1f", maxP50))
				q.Met = q.Met && q.P50 <= maxP50
			}
			q.Target = strings.Join(wants, ", ")
			ratios = append(ratios, q)
		}
	}
	return ratios
}

func (r *Report) concurrencies() []int {
	var cs []int
	for _, cell := range r.Cells {
		if cell.Target == ChainPlaintext {
			cs = append(cs, cell.Concurrency)
		}
	}
	return cs
}

// Markdown writes the report as Markdown tables, ready for docs/performance.md.
func (r *Report) Markdown(w io.Writer) {
	fmt.Fprintf(w, "Measured %s on %s. Each cell is the median of %d runs of %s, closed loop (each worker sends its next request when the last one returns), the load generator on the same machine.\n\n",
		r.Date, r.Machine, r.Reps, r.Duration)
	fmt.Fprintln(w, "| target | concurrency | req/s | p50 | p99 | failed |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, c := range r.Cells {
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %d |\n", c.Target, c.Concurrency, c.Throughput, ms(c.P50), ms(c.P99), c.Failed)
	}
	fmt.Fprintln(w, "\n| ratio | concurrency | req/s | p50 | p99 | wanted | met |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|---|")
	for _, q := range r.Ratios() {
		met := "yes"
		switch {
		case q.Target == "":
			met = ""
		case !q.Met:
			met = "**no**"
		}
		fmt.Fprintf(w, "| %s | %d | %.2f | %.2f | %.2f | %s | %s |\n", q.Name, q.Concurrency, q.Throughput, q.P50, q.P99, q.Target, met)
	}
	fmt.Fprintln(w, "\n| service | start-up to first success | RSS idle | RSS peak under load | image, compressed |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, s := range r.Services {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", s.Name, ms(s.StartUp), mib(s.IdleRSS), mib(s.PeakRSS), mib(s.ImageSize))
	}
	r.overloadMarkdown(w)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// cells are run's figures, from its load on, as cells of the overload table,
// for a service within its limits or not (limited).
func (run OverloadRun) cells(limited bool) string {
	return fmt.Sprintf("%.1f× | %.0f | %.0f | %.0f | %.1f %% | %d | %d | %s | %s | %s",
		run.Factor, run.Offered, run.Sent, run.Goodput, 100*run.Refused, run.PastDeadline, run.Failed, ms(run.P50), ms(run.P99), run.Usage.cells(limited))
}

// cells are u's cells of the overload table: where no limit was set,
// nothing was stopped by one, and nothing measured.
func (u Usage) cells(limited bool) string {
	switch {
	case !limited:
		return fmt.Sprintf("%.2f | —", u.CPU)
	case u.Stop <= 0:
		return fmt.Sprintf("%.2f | %.0f %%", u.CPU, 100*u.Throttled)
	}
	return fmt.Sprintf("%.2f | %.0f %%, %s", u.CPU, 100*u.Throttled, ms(u.Stop))
}

// overloadMarkdown writes the overload run's tables.
func (r *Report) overloadMarkdown(w io.Writer) {
	if len(r.Overloads) == 0 {
		return
	}
	fmt.Fprintf(w, "\nOverload: each service in an open loop at %v times the capacity it showed just before (closed loop, 64 in flight), for %s each; p50 and p99 are of the requests served.\n\n", overloadFactors, r.OverloadDuration)
	fmt.Fprintln(w, "| service | limits | load | offered req/s | sent req/s | goodput req/s | refused | past deadline | failed | p50 | p99 | CPU used (cores) | stopped by the CPU limit: periods, time throttled per period |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, o := range r.Overloads {
		fmt.Fprintf(w, "| %s, %s | %s | capacity | | | %.0f | | | | | | %s |\n", o.Service, o.Requests, o.Confined, o.Capacity, o.AtCapacity.cells(o.Limited))
		for _, run := range o.Runs {
			fmt.Fprintf(w, "| %s | | %s |\n", o.Service, run.cells(o.Limited))
		}
		if o.Floor != nil {
			fmt.Fprintf(w, "| %s, refusing alone: bare net/http, a 503 for every request (p50 and p99 of all its requests) | same | %s |\n", o.Service, o.Floor.cells(o.Limited))
		}
	}
	high := overloadFactors[len(overloadFactors)-1]
	fmt.Fprintf(w, "\n| service | goodput at %.0f× / peak | p99 at %.0f× / at %.1f× | refusing alone at %.0f×: answered / offered | peak RSS (limit %s) | crashed | wanted | met |\n",
		high, high, overloadFactors[0], high, mib(limitMemory))
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|---|---|")
	for _, o := range r.Overloads {
		share, growth, met := o.Verdict()
		floor := "—" // Recommendations: its client refuses, unsent
		if o.Floor != nil {
			floor = fmt.Sprintf("%.2f", o.FloorAnswered())
		}
		verdict := "yes"
		switch {
		case !met && !o.Crashed && o.PeakRSS < limitMemory && o.BeyondReach():
			verdict = "**no**: out of reach of any bound in the process, since refusing alone at its CPU limit cannot answer the load"
		case !met:
			verdict = "**no**"
		}
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %s | %s | %t | ≥ %.2f, ≤ %.0f, under the limit, no crash | %s |\n",
			o.Service, share, growth, floor, mib(o.PeakRSS), o.Crashed, minGoodputShare, maxP99Growth, verdict)
	}
}
