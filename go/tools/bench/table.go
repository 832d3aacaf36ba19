package bench

import (
	"fmt"
	"io"
	"time"
)

// Target ratios: what the numbers must show, each measured as a ratio
// within one run.
const (
	minChainRatio = 0.85 // full chain's throughput over chain off's
	minMTLSRatio  = 0.7  // mTLS throughput over plaintext's
	maxPageRatio  = 1.5  // page p50 over the RPC's p50, at c=16
	pageRatioAt   = 16
	// The page against the bare page (issue 19), at every concurrency of
	// pageRatioAt and above: throughput at least, p50 at most.
	minPageBareRatio    = 0.85
	maxPageBareP50Ratio = 1.2
)

// cell returns the cell of target at concurrency c.
func (r *Report) cell(target string, c int) (Cell, bool) {
	for _, cell := range r.Cells {
		if cell.Target == target && cell.Concurrency == c {
			return cell, true
		}
	}
	return Cell{}, false
}

// Ratio is one of the targets, as measured.
type Ratio struct {
	Name   string
	Value  float64
	Target string
	Met    bool
}

// Ratios compares the cells as the targets ask, at each concurrency measured.
func (r *Report) Ratios() []Ratio {
	var ratios []Ratio
	for _, c := range r.concurrencies() {
		chain, _ := r.cell(ChainPlaintext, c)
		bare, _ := r.cell(BarePlaintext, c)
		mtls, _ := r.cell(ChainMTLS, c)
		if v := ratio(chain.Throughput, bare.Throughput); v > 0 {
			ratios = append(ratios, Ratio{fmt.Sprintf("full chain / chain off, req/s, c=%d", c), v, fmt.Sprintf("≥ %.2f", minChainRatio), v >= minChainRatio})
		}
		if v := ratio(mtls.Throughput, chain.Throughput); v > 0 {
			ratios = append(ratios, Ratio{fmt.Sprintf("mTLS / plaintext, req/s, c=%d", c), v, fmt.Sprintf("≥ %.2f", minMTLSRatio), v >= minMTLSRatio})
		}
		page, _ := r.cell(Page, c)
		barePage, _ := r.cell(PageBare, c)
		if v := ratio(page.Throughput, barePage.Throughput); v > 0 && c >= pageRatioAt {
			ratios = append(ratios, Ratio{fmt.Sprintf("page / bare page, req/s, c=%d", c), v, fmt.Sprintf("≥ %.2f", minPageBareRatio), v >= minPageBareRatio})
		}
		if v := ratio(float64(page.P50), float64(barePage.P50)); v > 0 && c >= pageRatioAt {
			ratios = append(ratios, Ratio{fmt.Sprintf("page / bare page, p50, c=%d", c), v, fmt.Sprintf("≤ %.1f", maxPageBareP50Ratio), v <= maxPageBareP50Ratio})
		}
	}
	page, okPage := r.cell(Page, pageRatioAt)
	rpc, okRPC := r.cell(ChainPlaintext, pageRatioAt)
	if v := ratio(float64(page.P50), float64(rpc.P50)); okPage && okRPC && v > 0 {
		ratios = append(ratios, Ratio{fmt.Sprintf("page p50 / Recommend p50, c=%d", pageRatioAt), v, fmt.Sprintf("≤ %.1f", maxPageRatio), v <= maxPageRatio})
	}
	return ratios
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
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
	fmt.Fprintln(w, "\n| ratio | measured | target | met |")
	fmt.Fprintln(w, "|---|---:|---|---|")
	for _, q := range r.Ratios() {
		met := "yes"
		if !q.Met {
			met = "**no**"
		}
		fmt.Fprintf(w, "| %s | %.2f | %s | %s |\n", q.Name, q.Value, q.Target, met)
	}
	fmt.Fprintln(w, "\n| service | start-up to first success | RSS idle | RSS peak under load | image, compressed |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, s := range r.Services {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", s.Name, ms(s.StartUp), mib(s.IdleRSS), mib(s.PeakRSS), mib(s.ImageSize))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
