// Package loadgen sends bounded load to the services and reports throughput,
// latency percentiles and outcomes: a closed loop at fixed concurrency, or an
// open loop at a fixed rate.
//
// Every run ends by itself (Config.Duration, at most MaxDuration), and
// targets must be on loopback (CheckLoopback): this is a measuring tool for
// a developer's machine and CI, not a way to load somebody else's server.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MaxDuration bounds every run.
const MaxDuration = 10 * time.Minute

// OK is the outcome of a request that succeeded.
const OK = "OK"

// Op sends one request and returns its outcome: OK, or what went wrong in a
// few words ("Unavailable", "HTTP 503", "degraded page"). Outcomes are
// counted, so they must come from a small set.
type Op func(ctx context.Context) string

// Config says how much load to send, and for how long.
type Config struct {
	// Concurrency is the number of requests in flight at most.
	Concurrency int
	// Rate, when above 0, is the number of requests started per second,
	// spread evenly (an open loop). 0 sends each request as soon as the
	// previous one of its worker ends (a closed loop).
	Rate float64
	// Duration is how long requests are started for.
	Duration time.Duration
}

func (c Config) validate() error {
	switch {
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency %d: must be at least 1", c.Concurrency)
	case c.Rate < 0:
		return fmt.Errorf("rate %g: must not be negative", c.Rate)
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("duration %s: must be above 0 and at most %s", c.Duration, MaxDuration)
	}
	return nil
}

// Result is what one run measured.
type Result struct {
	Elapsed   time.Duration
	Latencies []time.Duration // sorted
	// OKLatencies are those of the requests whose outcome is OK, sorted:
	// under overload, the latency of what was served, not refused.
	OKLatencies []time.Duration
	Outcomes    map[string]int
	// Late counts open-loop requests that found every worker busy when
	// they were due, and waited: Concurrency is too low for the rate (their
	// latency includes the wait).
	Late int
}

// Requests is the number of requests sent.
func (r Result) Requests() int { return len(r.Latencies) }

// Failed is the number of requests whose outcome is not OK.
func (r Result) Failed() int { return r.Requests() - r.Outcomes[OK] }

// Throughput is in requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests()) / r.Elapsed.Seconds()
}

// Percentile returns the latency below which p percent of the requests
// finished (nearest rank), or 0 when there were none.
func (r Result) Percentile(p float64) time.Duration { return percentile(r.Latencies, p) }

// PercentileOK is Percentile of the requests whose outcome is OK.
func (r Result) PercentileOK(p float64) time.Duration { return percentile(r.OKLatencies, p) }

// Goodput is in requests per second whose outcome is OK.
func (r Result) Goodput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Outcomes[OK]) / r.Elapsed.Seconds()
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// Report writes the result as a few lines of text.
func (r Result) Report(w io.Writer) {
	fmt.Fprintf(w, "requests %d in %.1fs: %.0f/s", r.Requests(), r.Elapsed.Seconds(), r.Throughput())
	if r.Late > 0 {
		fmt.Fprintf(w, " (%d waited for a free worker: raise -concurrency)", r.Late)
	}
	fmt.Fprintf(w, "\nlatency p50 %s  p90 %s  p99 %s  max %s\n",
		ms(r.Percentile(50)), ms(r.Percentile(90)), ms(r.Percentile(99)), ms(r.Percentile(100)))
	outcomes := make([]string, 0, len(r.Outcomes))
	for o := range r.Outcomes {
		outcomes = append(outcomes, o)
	}
	sort.Strings(outcomes)
	fmt.Fprintf(w, "outcomes:")
	for _, o := range outcomes {
		fmt.Fprintf(w, " %s %d", o, r.Outcomes[o])
	}
	fmt.Fprintln(w)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// Run sends load with op until cfg.Duration has passed or ctx is done, waits
// for the requests in flight, and returns what it measured. Each request
// gets ctx; give it a deadline per request in op.
//
// In an open loop, a request's latency counts from when it was due, not from
// when a worker got to it, so a server that stalls shows its full cost
// (no coordinated omission).
func Run(ctx context.Context, cfg Config, op Op) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	// Requests in flight finish with a context of their own: the end of the
	// run stops new requests, it does not fail the last ones.
	reqCtx := context.WithoutCancel(ctx)

	type sample struct {
		latency time.Duration
		outcome string
	}
	workers := make([][]sample, cfg.Concurrency)
	var due chan time.Time
	var late int
	if cfg.Rate > 0 {
		due = make(chan time.Time)
		go func() {
			defer close(due)
			interval := time.Duration(float64(time.Second) / cfg.Rate)
			timer := time.NewTimer(0)
			defer timer.Stop()
			for next := time.Now(); ; next = next.Add(interval) {
				timer.Reset(time.Until(next))
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
				select {
				case due <- next:
					continue
				default:
				}
				late++ // every worker is busy: this request waits for one
				select {
				case <-ctx.Done():
					return
				case due <- next:
				}
			}
		}()
	}

	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				began := time.Now()
				if due != nil {
					t, ok := <-due
					if !ok {
						return
					}
					began = t
				} else if ctx.Err() != nil {
					return
				}
				outcome := op(reqCtx)
				workers[w] = append(workers[w], sample{time.Since(began), outcome})
			}
		}()
	}
	wg.Wait()

	r := Result{Elapsed: time.Since(start), Outcomes: map[string]int{}, Late: late}
	for _, samples := range workers {
		for _, s := range samples {
			r.Latencies = append(r.Latencies, s.latency)
			if s.outcome == OK {
				r.OKLatencies = append(r.OKLatencies, s.latency)
			}
			r.Outcomes[s.outcome]++
		}
	}
	slices.Sort(r.Latencies)
	slices.Sort(r.OKLatencies)
	return r, nil
}

// CheckLoopback returns an error unless target (host:port, or a URL) names a
// loopback address or localhost.
func CheckLoopback(target string) error {
	host := target
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		host = u.Host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address: load goes to 127.0.0.1, ::1 or localhost only", target)
}
