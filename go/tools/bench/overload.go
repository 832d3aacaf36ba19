package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/onlinebooks/bookstore/go/marketplace"
	"github.com/onlinebooks/bookstore/go/platform/tlsconfig"
	"github.com/onlinebooks/bookstore/go/recommendations/client"
	"github.com/onlinebooks/bookstore/go/testkit"
	"github.com/onlinebooks/bookstore/go/tools/loadgen"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// The overload run offers each service these multiples of its capacity,
// measured just before, in an open loop: requests arrive at their rate
// whether or not earlier ones were answered, as they do from many users.
var overloadFactors = []float64{0.5, 1, 2, 4}

// Each service runs within the limits its Kubernetes container has
// (resources.limits in k8s/base/recommendations.yaml and marketplace.yaml),
// as the kubelet sets them: so the load generator has the rest of the
// machine to offer four times what the service can do, and a service
// that outgrew its memory limit would be killed, as in a cluster.
const (
	limitMilliCPU = 500
	limitMemory   = 128 << 20
)

// containerEnv is the environment the manifests give each service's
// container from its limits: GOMAXPROCS, the CPU limit rounded up to whole
// CPUs, as the kubelet resolves resourceFieldRef limits.cpu.
var containerEnv = []string{fmt.Sprintf("GOMAXPROCS=%d", (limitMilliCPU+999)/1000)}

// overloadWorkers bounds the requests the generator has in flight: twice
// what the services admit (their -max-in-flight and the client's
// MaxInFlight, 512), so that they, not the generator, decide what is
// refused; and as many as Marketplace's -max-connections, since each of
// its workers keeps a connection of its own.
const overloadWorkers = marketplace.DefaultMaxConnections

// recoveryLimit is how soon after an overload a service must serve again.
const recoveryLimit = 10 * time.Second

// Refusal outcomes: a service too busy for a request says so at once.
const (
	refusedRPC  = "ResourceExhausted"
	refusedPage = "HTTP 503"
)

// Outcomes past the deadline: a request answered after its deadline, or a
// page served without its recommendations because its Recommend call
// missed its own. How many there are is what the load cost: a figure of
// the run, which depends on the CPU the machine gives. Any other outcome
// that is neither OK nor a refusal is a fault.
var (
	pastDeadlineRPC  = []string{"DeadlineExceeded"}
	pastDeadlinePage = []string{"timeout", loadgen.DegradedPage}
)

// Overload is one service's overload run.
type Overload struct {
	Service  string // as it is deployed: "recommendations", "marketplace"
	Requests string // what was sent
	Confined string // the limits it ran within, or why none
	Limited  bool   // whether it ran within them
	Capacity float64
	// AtCapacity is what the service used at capacity: its CPU limit, when
	// the limit is what bounds it.
	AtCapacity Usage
	Runs       []OverloadRun
	PeakRSS    int64 // bytes, over the whole run
	Crashed    bool  // the process was not running at the end
	// Floor, for the page, is the highest load offered to the cheapest
	// refusal there is (//go/tools/bench/barepage -refuse, within the same
	// limits): what no in-process bound can do better than. Its P50 and
	// P99 are of all its requests. (Recommendations' refusals cost its
	// server nothing: its client makes them, unsent.)
	Floor *OverloadRun
}

// OverloadRun is one offered load.
type OverloadRun struct {
	Factor float64 // offered load over capacity
	// Requests per second: offered (Factor times capacity), sent (less
	// when every one of the generator's workers waited on an answer), and
	// answered OK.
	Offered, Sent, Goodput float64
	Refused                float64 // share of the requests refused at once
	PastDeadline           int     // requests answered past their deadline
	Failed                 int     // requests neither served, refused nor past their deadline
	P50, P99               time.Duration
	Usage
}

// Usage is what a service used during a load.
type Usage struct {
	// CPU is in cores: whether its limit, not the generator, is what
	// bounds it.
	CPU float64
	// Throttled is the share of the CFS periods (100 ms) the service ran
	// in that ended with its CPU quota spent and the kernel stopping it
	// until the next: what the limit adds to the latency of every request
	// it holds meanwhile. Stop is the time throttled per such period,
	// which the kernel sums over the CPUs the service had threads queued
	// on: the pause itself when that is one CPU, as mostly with
	// GOMAXPROCS=1, and up to a multiple of it otherwise. Both are zero
	// when the limits could not be set (Overload.Limited).
	Throttled float64
	Stop      time.Duration
}

// summary is u in words, for the progress lines.
func (u Usage) summary() string {
	return fmt.Sprintf("%.2f cores, throttled in %.0f%% of periods for %s each", u.CPU, 100*u.Throttled, ms(u.Stop))
}

// Wanted of the overload run at its highest load (issue 19).
const (
	minGoodputShare = 0.9 // of the peak goodput
	maxP99Growth    = 5.0 // admitted p99 over the one at half capacity
)

// Verdict says how the run at the highest load compares with what is
// wanted: its goodput over the peak, its admitted p99 over the one at the
// lowest load, and whether both, the memory limit and survival are met.
func (o Overload) Verdict() (goodputShare, p99Growth float64, met bool) {
	if len(o.Runs) == 0 {
		return 0, 0, false
	}
	peak := o.Capacity
	for _, r := range o.Runs {
		peak = max(peak, r.Goodput)
	}
	low, high := o.Runs[0], o.Runs[len(o.Runs)-1]
	if peak > 0 {
		goodputShare = high.Goodput / peak
	}
	if low.P99 > 0 {
		p99Growth = float64(high.P99) / float64(low.P99)
	}
	met = goodputShare >= minGoodputShare && p99Growth > 0 && p99Growth <= maxP99Growth &&
		o.PeakRSS < limitMemory && !o.Crashed
	return goodputShare, p99Growth, met
}

// FloorAnswered is the share of the floor's offered requests it answered
// (0 with no floor).
func (o Overload) FloorAnswered() float64 {
	if o.Floor == nil || o.Floor.Offered <= 0 {
		return 0
	}
	return o.Floor.Sent / o.Floor.Offered
}

// BeyondReach says whether the floor shows the highest load out of reach of
// any bound inside the process: refusing alone, at its CPU limit (so the
// limit, not the generator, held it back), it answered fewer requests than
// were offered. Then requests wait longer the longer the load lasts,
// whatever the bound does, and no p99 target holds.
func (o Overload) BeyondReach() bool {
	answered := o.FloorAnswered()
	return answered > 0 && answered < floorKeptUp && o.Floor.CPU >= floorSaturated*limitMilliCPU/1000
}

const (
	// floorKeptUp is the share of the offered requests above which the
	// floor counts as keeping up: the rest is the generator's rounding
	// at the run's start and end.
	floorKeptUp = 0.95
	// floorSaturated is the share of its CPU limit above which the floor
	// counts as held back by it (the quota is enforced per 100 ms period,
	// so a saturated process measures just under or over it).
	floorSaturated = 0.9
)

// overloadRun sums up r, the run at factor times capacity, whose refusals
// have the outcome refused and whose requests past their deadline those in
// pastDeadline.
func overloadRun(factor, capacity float64, r loadgen.Result, refused string, pastDeadline []string) OverloadRun {
	run := OverloadRun{Factor: factor, Offered: factor * capacity, Sent: r.Throughput(), Goodput: r.Goodput(), P50: r.PercentileOK(50), P99: r.PercentileOK(99)}
	if n := r.Requests(); n > 0 {
		run.Refused = float64(r.Outcomes[refused]) / float64(n)
		for _, o := range pastDeadline {
			run.PastDeadline += r.Outcomes[o]
		}
		run.Failed = n - r.Outcomes[loadgen.OK] - r.Outcomes[refused] - run.PastDeadline
	}
	return run
}

// cfsStats is what a cgroup's cpu.stat says of its CPU limit so far: the
// CFS periods in which its processes ran, those in which they spent the
// quota and were stopped, and how long they were stopped in all.
type cfsStats struct {
	periods, throttled int64
	stopped            time.Duration
}

// since is Usage's Throttled and Stop between before and s.
func (s cfsStats) since(before cfsStats) (throttled float64, stop time.Duration) {
	if periods := s.periods - before.periods; periods > 0 {
		throttled = float64(s.throttled-before.throttled) / float64(periods)
	}
	if n := s.throttled - before.throttled; n > 0 {
		stop = (s.stopped - before.stopped) / time.Duration(n)
	}
	return throttled, stop
}

// readCFSStats reads the cpu.stat at path, of either cgroup version.
func readCFSStats(path string) (cfsStats, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return cfsStats{}, err
	}
	return parseCFSStats(string(b))
}

// parseCFSStats reads a cpu.stat: "name value" lines, where version 2
// counts the time stopped in microseconds (throttled_usec) and version 1
// in nanoseconds (throttled_time).
func parseCFSStats(stat string) (cfsStats, error) {
	fields := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(stat), "\n") {
		name, value, _ := strings.Cut(line, " ")
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return cfsStats{}, fmt.Errorf("cpu.stat %q: %w", line, err)
		}
		fields[name] = n
	}
	periods, okPeriods := fields["nr_periods"]
	throttled, okThrottled := fields["nr_throttled"]
	usec, v2 := fields["throttled_usec"]
	ns, v1 := fields["throttled_time"]
	if !okPeriods || !okThrottled || v1 == v2 {
		return cfsStats{}, fmt.Errorf("cpu.stat %.80q: want nr_periods, nr_throttled and the time throttled", stat)
	}
	s := cfsStats{periods: periods, throttled: throttled, stopped: time.Duration(ns)}
	if v2 {
		s.stopped = time.Duration(usec) * time.Microsecond
	}
	return s, nil
}

// overload runs both services' overload runs, each on processes of its
// own, started within their limits.
func overload(ctx context.Context, cfg Config, req *pb.RecommendRequest) ([]Overload, error) {
	var runs []Overload
	for _, service := range []string{"recommendations", "marketplace"} {
		o, err := overloadOne(ctx, cfg, service, req)
		if err != nil {
			return nil, fmt.Errorf("overload run of %s: %w", service, err)
		}
		runs = append(runs, o)
	}
	return runs, nil
}

func overloadOne(ctx context.Context, cfg Config, service string, req *pb.RecommendRequest) (Overload, error) {
	o := Overload{Service: service}
	var procs []*testkit.Process
	var cleanups []func()
	var unconfined error                      // why the limits could not be set
	cpuStats := map[*testkit.Process]string{} // each confined process's cpu.stat
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
		for _, c := range cleanups {
			c() // a cgroup goes once its process has
		}
	}()
	start := func(name, bin, listener string, args ...string) (*testkit.Process, string, error) {
		p, err := testkit.StartProcessEnv(containerEnv, bin, args...)
		if err != nil {
			return nil, "", err
		}
		procs = append(procs, p)
		if unconfined == nil {
			remove, stat, err := confine(p.Pid(), fmt.Sprintf("bookstore-bench-%s-%d", name, p.Pid()), limitMilliCPU, limitMemory)
			if err != nil {
				unconfined = err // the run goes on without limits, and says so
			} else {
				cleanups = append(cleanups, remove)
				cpuStats[p] = stat
			}
		}
		addrs, err := p.Addrs(30*time.Second, listener)
		if err != nil {
			return nil, "", err
		}
		return p, addrs[listener], nil
	}

	recs, recsAddr, err := start("recommendations", cfg.Recommendations, "api", "-grpc-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0")
	if err != nil {
		return o, err
	}
	measured := recs
	var op loadgen.Op
	refused, pastDeadline := refusedRPC, pastDeadlineRPC
	switch service {
	case "recommendations":
		o.Requests = "Recommend calls on one connection"
		security, closeTLS, err := tlsconfig.Client{Mode: tlsconfig.Plaintext}.DialOptions()
		if err != nil {
			return o, err
		}
		defer closeTLS()
		conn, err := client.Dial(recsAddr, security...)
		if err != nil {
			return o, err
		}
		defer conn.Close()
		// Marketplace's client, retry policy included (it must not turn
		// refusals into more load: it retries UNAVAILABLE only) and its
		// bound on calls in flight (client.MaxInFlight: past it, calls are
		// refused without being sent), with its deadline: past it, a call
		// has failed the page it was for.
		op = loadgen.RecommendOp(pb.NewRecommendationsServiceClient(conn), req, marketplace.DefaultRecommendationsTimeout)
	case "marketplace":
		o.Requests = "pages, each a Recommend call"
		var pageAddr string
		// As deployed: its defaults (the call's deadline, the bounds on
		// pages in flight and on connections).
		measured, pageAddr, err = start("marketplace", cfg.Marketplace, "page", "-http-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0",
			"-recommendations-host="+recsAddr)
		if err != nil {
			return o, err
		}
		hc := loadgen.HTTPClient(overloadWorkers)
		defer hc.CloseIdleConnections()
		op = loadgen.PageOp(hc, "http://"+pageAddr+"/?category=mystery", []byte(marketplace.UnavailableNotice), 5*time.Second)
		refused, pastDeadline = refusedPage, pastDeadlinePage
	}
	o.Confined = fmt.Sprintf("%d millicores (%s), %d MiB each", limitMilliCPU, strings.Join(containerEnv, " "), limitMemory>>20)
	o.Limited = unconfined == nil
	if unconfined != nil {
		o.Confined = fmt.Sprintf("none (%v): the generator and the service share the machine", unconfined)
	}

	// measure sends load with op and returns what was measured, with what
	// process p used meanwhile.
	measure := func(p *testkit.Process, op loadgen.Op, lc loadgen.Config) (r loadgen.Result, u Usage, err error) {
		var limit0, limit1 cfsStats
		stat := cpuStats[p]
		if stat != "" {
			if limit0, err = readCFSStats(stat); err != nil {
				return r, u, err
			}
		}
		cpu0, err := cpuTime(p.Pid())
		if err != nil {
			return r, u, err
		}
		if r, err = loadgen.Run(ctx, lc, op); err != nil {
			return r, u, err
		}
		cpu1, err := cpuTime(p.Pid())
		if err != nil || r.Elapsed <= 0 {
			return r, u, err
		}
		u.CPU = float64(cpu1-cpu0) / float64(r.Elapsed)
		if stat != "" {
			if limit1, err = readCFSStats(stat); err != nil {
				return r, u, err
			}
			u.Throttled, u.Stop = limit1.since(limit0)
		}
		return r, u, nil
	}

	// Capacity: what it serves with the generator waiting on each answer.
	capacity, used, err := measure(measured, op, loadgen.Config{Concurrency: 64, Duration: cfg.OverloadDuration})
	if err != nil {
		return o, err
	}
	o.Capacity, o.AtCapacity = capacity.Goodput(), used
	if o.Capacity == 0 {
		return o, fmt.Errorf("no request served at capacity: %v", capacity.Outcomes)
	}
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "overload, %s at capacity: %.0f/s, %s\n", service, o.Capacity, o.AtCapacity.summary())
	}
	for _, f := range overloadFactors {
		r, used, err := measure(measured, op, loadgen.Config{Concurrency: overloadWorkers, Rate: f * o.Capacity, Duration: cfg.OverloadDuration})
		if err != nil {
			return o, err
		}
		if ctx.Err() != nil {
			return o, ctx.Err()
		}
		run := overloadRun(f, o.Capacity, r, refused, pastDeadline)
		run.Usage = used
		o.Runs = append(o.Runs, run)
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "overload, %s at %.1f× capacity (%.0f/s): goodput %.0f/s, refused %.0f%%, %d past their deadline, %d failed, p99 %s, %s\n",
				service, f, o.Capacity, run.Goodput, 100*run.Refused, run.PastDeadline, run.Failed, run.P99, run.summary())
		}
	}
	for _, p := range procs {
		o.Crashed = o.Crashed || !p.Running()
	}
	// The load over, a service still running must serve again within
	// recoveryLimit (a crash is a figure of the run). Requests past their
	// deadline under the load are a figure of the CPU the machine gave the
	// service and the generator; a service or connection that stays stuck
	// afterwards is a fault.
	if !o.Crashed {
		rctx, cancel := context.WithTimeout(ctx, recoveryLimit)
		var last string
		testkit.Eventually(recoveryLimit, func() bool { last = op(rctx); return last == loadgen.OK || rctx.Err() != nil })
		cancel()
		if ctx.Err() != nil {
			return o, ctx.Err()
		}
		if last != loadgen.OK {
			return o, fmt.Errorf("not serving within %s of the overload (still running: %t): the last request's outcome was %q", recoveryLimit, measured.Running(), last)
		}
	}
	if measured.Running() {
		if _, o.PeakRSS, err = memory(measured.Pid()); err != nil {
			return o, err
		}
	}
	if service != "marketplace" || unconfined != nil {
		return o, nil // the floor is of what the limits allow
	}

	// The floor: the highest load, offered to a server that only refuses.
	floor, floorAddr, err := start("floor", cfg.BarePage, "page", "-http-addr=127.0.0.1:0", "-refuse")
	if err != nil {
		return o, err
	}
	if unconfined != nil {
		return o, nil // the floor's own limits could not be set
	}
	hc := loadgen.HTTPClient(overloadWorkers)
	defer hc.CloseIdleConnections()
	f := overloadFactors[len(overloadFactors)-1]
	r, used, err := measure(floor, loadgen.PageOp(hc, "http://"+floorAddr+"/", nil, 5*time.Second),
		loadgen.Config{Concurrency: overloadWorkers, Rate: f * o.Capacity, Duration: cfg.OverloadDuration})
	if err != nil {
		return o, err
	}
	run := overloadRun(f, o.Capacity, r, refusedPage, pastDeadlinePage)
	run.P50, run.P99 = r.Percentile(50), r.Percentile(99)
	run.Usage = used
	o.Floor = &run
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "overload, refusing alone at %.1f× the page's capacity (%.0f/s): answered %.0f/s, %s\n",
			f, o.Capacity, run.Sent, run.summary())
	}
	return o, nil
}
