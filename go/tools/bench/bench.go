// Package bench measures the services side by side on this machine and
// prints one table: Recommend with the full interceptor chain (as shipped,
// and with a log record for every call) and without it, in plaintext and
// with mutual TLS, and the page end to end and its bare reference, at
// several concurrencies; then each service's start-up time, memory and image
// size; then each service overloaded, within its Kubernetes limits.
//
// Every configuration runs in the same process tree, interleaved (each
// repetition runs every cell once), so a noisy machine shifts them alike and
// their ratios stay meaningful where absolute numbers do not.
package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/onlinebooks/bookstore/go/marketplace"
	"github.com/onlinebooks/bookstore/go/platform/tlsconfig"
	"github.com/onlinebooks/bookstore/go/recommendations/client"
	"github.com/onlinebooks/bookstore/go/testkit"
	"github.com/onlinebooks/bookstore/go/tools/loadgen"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// Config says what to measure, and with which binaries and files.
type Config struct {
	Recommendations, Marketplace string // the service binaries
	// BareRecommendations and BarePage are the references: the service
	// without the chain (//go/tools/bench/bareserver), and the page without
	// Marketplace's machinery (//go/tools/bench/barepage), calling it.
	BareRecommendations, BarePage string
	// Certificates for mutual TLS: the CA, Recommendations' key pair and
	// Marketplace's client key pair.
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
	// Images maps a service to its OCI image layout folder.
	Images        map[string]string
	Concurrencies []int
	Reps          int
	Duration      time.Duration // of each run
	// OverloadDuration is the length of each run of the overload run
	// (overload.go); 0 leaves it out.
	OverloadDuration time.Duration
	Progress         io.Writer // a line per run
}

// Target names, as rows of the table.
const (
	ChainPlaintext = "Recommend, full chain, plaintext"
	// ChainLogged is the full chain at -log-level=DEBUG, a record for every
	// call: what the default (successes not logged) saves.
	ChainLogged   = "Recommend, full chain, every call logged"
	BarePlaintext = "Recommend, chain off, plaintext"
	ChainMTLS     = "Recommend, full chain, mTLS"
	// Chain8 and Bare8 spread the calls over 8 connections, where one
	// connection's single reader and writer no longer set the pace.
	Chain8 = "Recommend, full chain, 8 connections"
	Bare8  = "Recommend, chain off, 8 connections"
	Page   = "page, end to end"
	// PageBare is the bare page over the bare server: what the page costs
	// without the project's machinery on either side.
	PageBare = "page, bare reference"
)

var targets = []string{ChainPlaintext, ChainLogged, BarePlaintext, ChainMTLS, Chain8, Bare8, Page, PageBare}

// connections is how many connections Chain8 and Bare8 use.
const connections = 8

const maxReps, maxConcurrencies = 20, 8

// Cell is the medians of one target at one concurrency.
type Cell struct {
	Target      string
	Concurrency int
	Throughput  float64 // requests per second
	P50, P99    time.Duration
	Failed      int // over every repetition
}

// Service is what one service binary costs.
type Service struct {
	Name             string
	StartUp          time.Duration // from exec to the first successful call
	IdleRSS, PeakRSS int64         // bytes: after start-up, and the peak under load
	ImageSize        int64         // compressed layers and config, what a node pulls
}

// Report is one run of the benchmark.
type Report struct {
	Date, Machine              string
	Reps                       int
	Duration, OverloadDuration time.Duration
	Cells                      []Cell
	Services                   []Service
	Overloads                  []Overload
}

// Run starts the services, measures, stops them and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	// Bounded, like each run (loadgen.MaxDuration): the whole benchmark ends
	// by itself.
	if cfg.Reps < 1 || cfg.Reps > maxReps || len(cfg.Concurrencies) == 0 || len(cfg.Concurrencies) > maxConcurrencies {
		return nil, fmt.Errorf("need 1 to %d repetitions and 1 to %d concurrencies", maxReps, maxConcurrencies)
	}
	report := &Report{Date: time.Now().UTC().Format("2006-01-02"), Machine: machine(), Reps: cfg.Reps, Duration: cfg.Duration, OverloadDuration: cfg.OverloadDuration}
	recsFlags := []string{"-grpc-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0"}
	plaintext := tlsconfig.Client{Mode: tlsconfig.Plaintext}
	mtls := tlsconfig.Client{Mode: tlsconfig.MutualTLS, CA: cfg.CA, Cert: cfg.ClientCert, Key: cfg.ClientKey}
	servers := []struct {
		name, bin string
		args      []string
	}{
		{ChainPlaintext, cfg.Recommendations, recsFlags},
		{ChainLogged, cfg.Recommendations, append(slices.Clone(recsFlags), "-log-level=DEBUG")},
		{BarePlaintext, cfg.BareRecommendations, []string{"-grpc-addr=127.0.0.1:0"}},
		{ChainMTLS, cfg.Recommendations, append(slices.Clone(recsFlags), "-tls-mode=mtls", "-tls-cert="+cfg.ServerCert, "-tls-key="+cfg.ServerKey, "-tls-client-ca="+cfg.CA)},
	}
	procs := map[string]*testkit.Process{}
	addrs := map[string]map[string]string{}
	var closers []func() // the clients' connections, closed before the servers stop
	defer func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
		for _, p := range procs {
			p.Stop()
		}
	}()
	// launch starts the target name's process and learns where its
	// listener listens.
	launch := func(name, bin, listener string, args ...string) error {
		p, err := testkit.StartProcess(bin, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		procs[name] = p
		addrs[name], err = p.Addrs(30*time.Second, listener)
		return err
	}
	for _, s := range servers {
		if err := launch(s.name, s.bin, "api", s.args...); err != nil {
			return nil, err
		}
	}

	req := &pb.RecommendRequest{Category: pb.BookCategory_BOOK_CATEGORY_MYSTERY, MaxResults: 3}
	ops := map[string]func(concurrency int) loadgen.Op{}
	// dial returns an op that calls Recommend at addr over n long-lived
	// connections in turn (Marketplace keeps one). Retries are off, so
	// that a cell measures calls, not attempts.
	dial := func(addr string, security tlsconfig.Client, n int) (loadgen.Op, error) {
		opts, closeTLS, err := security.DialOptions()
		if err != nil {
			return nil, err
		}
		closers = append(closers, closeTLS)
		calls := make([]loadgen.Op, n)
		for i := range calls {
			conn, err := client.Dial(addr, append(opts, grpc.WithDisableRetry())...)
			if err != nil {
				return nil, err
			}
			closers = append(closers, func() { conn.Close() })
			calls[i] = loadgen.RecommendOp(pb.NewRecommendationsServiceClient(conn), req, 5*time.Second)
		}
		return loadgen.RoundRobin(calls...), nil
	}
	for _, s := range []struct {
		name, server string
		security     tlsconfig.Client
		conns        int
	}{
		{ChainPlaintext, ChainPlaintext, plaintext, 1},
		{ChainLogged, ChainLogged, plaintext, 1},
		{BarePlaintext, BarePlaintext, plaintext, 1},
		{ChainMTLS, ChainMTLS, mtls, 1},
		{Chain8, ChainPlaintext, plaintext, connections},
		{Bare8, BarePlaintext, plaintext, connections},
	} {
		op, err := dial(addrs[s.server]["api"], s.security, s.conns)
		if err != nil {
			return nil, err
		}
		ops[s.name] = func(int) loadgen.Op { return op }
	}
	recsStartUp, err := startUpTime(cfg.Recommendations, []string{"-admin-addr=127.0.0.1:0"}, "-grpc-addr=", func(addr string) loadgen.Op {
		return func(ctx context.Context) string {
			// A new connection each time: a failed one would wait out
			// grpc-go's reconnection backoff.
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return err.Error()
			}
			defer conn.Close()
			return loadgen.RecommendOp(pb.NewRecommendationsServiceClient(conn), req, time.Second)(ctx)
		}
	})
	if err != nil {
		return nil, err
	}

	marketFlags := []string{"-admin-addr=127.0.0.1:0", "-recommendations-host=" + addrs[ChainPlaintext]["api"], "-recommendations-timeout=5s"}
	pageOp := func(url string, concurrency int) loadgen.Op {
		return loadgen.PageOp(loadgen.HTTPClient(concurrency), url, []byte(marketplace.UnavailableNotice), 5*time.Second)
	}
	marketStartUp, err := startUpTime(cfg.Marketplace, marketFlags, "-http-addr=", func(addr string) loadgen.Op {
		return pageOp("http://"+addr+"/", 1)
	})
	if err != nil {
		return nil, err
	}
	// The two pages, each on its own backend: the project's over the full
	// chain, the bare one over the bare server.
	pages := []struct {
		name, bin string
		args      []string
	}{
		{Page, cfg.Marketplace, append(marketFlags, "-http-addr=127.0.0.1:0")},
		{PageBare, cfg.BarePage, []string{"-http-addr=127.0.0.1:0", "-recommendations-host=" + addrs[BarePlaintext]["api"]}},
	}
	for _, pg := range pages {
		if err := launch(pg.name, pg.bin, "page", pg.args...); err != nil {
			return nil, err
		}
		url := "http://" + addrs[pg.name]["page"] + "/?category=mystery"
		ops[pg.name] = func(concurrency int) loadgen.Op { return pageOp(url, concurrency) }
	}
	if err := samePages("http://"+addrs[Page]["page"]+"/?category=mystery", "http://"+addrs[PageBare]["page"]+"/"); err != nil {
		return nil, err
	}
	idle := map[string]int64{}
	for _, name := range []string{ChainPlaintext, Page} {
		if idle[name], _, err = memory(procs[name].Pid()); err != nil {
			return nil, err
		}
	}

	// Warm up every target (connections, caches, the Go runtime's heap).
	for _, t := range targets {
		if _, err := loadgen.Run(ctx, loadgen.Config{Concurrency: 16, Duration: cfg.Duration / 4}, ops[t](16)); err != nil {
			return nil, err
		}
	}
	results := map[string]map[int][]loadgen.Result{}
	for rep := 1; rep <= cfg.Reps; rep++ {
		// Each repetition starts the round at another target, so that none
		// always runs right after the heaviest one.
		order := append(slices.Clone(targets[rep%len(targets):]), targets[:rep%len(targets)]...)
		for _, c := range cfg.Concurrencies {
			for _, t := range order {
				r, err := loadgen.Run(ctx, loadgen.Config{Concurrency: c, Duration: cfg.Duration}, ops[t](c))
				if err != nil {
					return nil, err
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if results[t] == nil {
					results[t] = map[int][]loadgen.Result{}
				}
				results[t][c] = append(results[t][c], r)
				if cfg.Progress != nil {
					fmt.Fprintf(cfg.Progress, "rep %d/%d, c=%d, %s: %.0f/s, p50 %s, %d failed\n", rep, cfg.Reps, c, t, r.Throughput(), r.Percentile(50), r.Failed())
				}
			}
		}
	}
	for _, t := range targets {
		for _, c := range cfg.Concurrencies {
			report.Cells = append(report.Cells, summarize(t, c, results[t][c]))
		}
	}

	for _, s := range []struct {
		name, image string
		startUp     time.Duration
	}{{ChainPlaintext, "recommendations", recsStartUp}, {Page, "marketplace", marketStartUp}} {
		_, peak, err := memory(procs[s.name].Pid())
		if err != nil {
			return nil, err
		}
		size, err := imageSize(cfg.Images[s.image])
		if err != nil {
			return nil, err
		}
		report.Services = append(report.Services, Service{Name: s.image, StartUp: s.startUp, IdleRSS: idle[s.name], PeakRSS: peak, ImageSize: size})
	}
	if cfg.OverloadDuration > 0 {
		if report.Overloads, err = overload(ctx, cfg, req); err != nil {
			return nil, err
		}
	}
	return report, nil
}

// startUpTime starts bin with args and its listener at a free port (addrFlag
// names the listener's flag), calls probe's op on that address every
// millisecond until it succeeds, and returns the time from exec to that
// success. Then it stops bin.
func startUpTime(bin string, args []string, addrFlag string, probe func(addr string) loadgen.Op) (time.Duration, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	addr := lis.Addr().String()
	lis.Close()
	started := time.Now()
	p, err := testkit.StartProcess(bin, append(slices.Clone(args), addrFlag+addr)...)
	if err != nil {
		return 0, err
	}
	defer p.Stop()
	op := probe(addr)
	for time.Since(started) < 30*time.Second {
		if op(context.Background()) == loadgen.OK {
			return time.Since(started), nil
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("%s: no successful call within 30s of its start; it logged:\n%s", bin, p.Logs())
}

// samePages checks that the project's page and the bare one send the same
// markup, the books aside (each call picks its own): the two must differ in
// how they are made, not in what they send.
func samePages(project, bare string) error {
	markup := func(url string) (string, error) {
		code, body := testkit.Get(url)
		if code != http.StatusOK {
			return "", fmt.Errorf("GET %s: HTTP %d", url, code)
		}
		lines := strings.Split(body, "\n")
		return strings.Join(slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "<li>") }), "\n"), nil
	}
	want, err := markup(project)
	if err != nil {
		return err
	}
	got, err := markup(bare)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("the bare page's markup is not Marketplace's (update //go/tools/bench/barepage):\n%s\nMarketplace's:\n%s", got, want)
	}
	return nil
}

// summarize takes the median of each measure over the repetitions.
func summarize(target string, concurrency int, runs []loadgen.Result) Cell {
	cell := Cell{Target: target, Concurrency: concurrency}
	var throughput []float64
	var p50, p99 []time.Duration
	for _, r := range runs {
		throughput = append(throughput, r.Throughput())
		p50 = append(p50, r.Percentile(50))
		p99 = append(p99, r.Percentile(99))
		cell.Failed += r.Failed()
	}
	cell.Throughput, cell.P50, cell.P99 = median(throughput), median(p50), median(p99)
	return cell
}

// median of values (the lower middle one of an even count).
func median[T float64 | time.Duration](values []T) T {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// machine describes the machine: CPU model and count, kernel.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "unknown kernel"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d × %s, %s, %s", runtime.NumCPU(), model, kernel, runtime.Version())
}

// memory returns the resident memory of process pid now and at its peak,
// in bytes (Linux's /proc).
func memory(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		field, value, _ := strings.Cut(line, ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case field == "VmRSS" && err == nil:
			rss = kb << 10
		case field == "VmHWM" && err == nil:
			peak = kb << 10
		}
	}
	return rss, peak, nil
}

// cpuTime returns the CPU time process pid has used so far, all its threads,
// in user and kernel mode (Linux's /proc/<pid>/stat, fields 14 and 15).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseCPUTime(string(b))
}

// parseCPUTime reads the CPU time out of a /proc/<pid>/stat line. The
// fields are counted after the command's name, which is in parentheses and
// may hold spaces and parentheses itself. Linux counts them in USER_HZ, 100
// a second on every architecture, whatever the kernel's own tick.
func parseCPUTime(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	fields := strings.Fields(stat[i+1:]) // from field 3, the state
	if i < 0 || len(fields) < 13 {
		return 0, fmt.Errorf("/proc stat %.80q: too few fields", stat)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat %.80q: %w", stat, err)
		}
		ticks += n
	}
	const userHZ = 100
	return time.Duration(ticks) * time.Second / userHZ, nil
}
