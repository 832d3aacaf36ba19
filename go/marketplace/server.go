// Package marketplace is the Marketplace web app: the homepage that shows
// recommendations from the Recommendations service, and its HTTP server.
package marketplace

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/platform/bounded"
	"github.com/onlinebooks/bookstore/go/platform/runner"
	"github.com/onlinebooks/bookstore/go/platform/telemetry"
	"github.com/onlinebooks/bookstore/go/platform/tlsconfig"
	"github.com/onlinebooks/bookstore/go/recommendations/client"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// Config is what the marketplace binary is started with.
type Config struct {
	// HTTPAddr is the address the web page is served on, e.g. ":5000".
	HTTPAddr string
	// AdminAddr is the address of the admin port (/metrics), e.g. ":5001".
	AdminAddr string
	// RecommendationsHost is where Recommendations is: a host, host:port or
	// gRPC target URI (see client.Target).
	RecommendationsHost string
	// RecommendationsTimeout is the deadline of each call to Recommendations.
	RecommendationsTimeout time.Duration
	// ShutdownGrace bounds how long in-flight requests may run after SIGTERM.
	ShutdownGrace time.Duration
	// MaxInFlight bounds the homepages rendered at once; past it, a request
	// gets a 503 page at once (limitInFlight).
	MaxInFlight int
	// MaxConnections bounds the page's open connections (runner.HTTP).
	MaxConnections int
	// OTLPEndpoint is where traces are exported; see telemetry.TracerProvider.
	OTLPEndpoint string
	// TLS secures the connection to Recommendations.
	TLS tlsconfig.Client
}

// RegisterFlags defines the binary's flags on fs, with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTPAddr, "http-addr", ":5000", "address of the web page")
	fs.StringVar(&c.AdminAddr, "admin-addr", ":5001", "address of the admin port: /metrics")
	fs.StringVar(&c.RecommendationsHost, "recommendations-host", "localhost", "Recommendations as host, host:port (default port "+client.DefaultPort+") or gRPC target URI")
	fs.DurationVar(&c.RecommendationsTimeout, "recommendations-timeout", DefaultRecommendationsTimeout, "deadline of each call to Recommendations")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 10*time.Second, "how long in-flight requests may finish after SIGTERM")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", DefaultMaxInFlight, "homepages rendered at once; more get a 503 page at once, with Retry-After (0: no bound)")
	fs.IntVar(&c.MaxConnections, "max-connections", DefaultMaxConnections, "connections to the page open at once; more wait until one closes (0: no bound)")
	fs.StringVar(&c.OTLPEndpoint, "otel-exporter-otlp-endpoint", "", "OTLP/HTTP endpoint to export traces to, e.g. http://collector:4318 (default: tracing off)")
	c.TLS.RegisterFlags(fs, true)
}

// DefaultRecommendationsTimeout is -recommendations-timeout's default.
const DefaultRecommendationsTimeout = 500 * time.Millisecond

// DefaultMaxInFlight is -max-in-flight's default, sized as the client's
// bound on calls (client.MaxInFlight) was, by the benchmark's overload run
// within the 500 millicores of the Kubernetes limit: the pages that arrive
// while the kernel stops the process (36-49 ms of a 100 ms period, once
// saturated) must fit under it. At the page's capacity, 256 refused 27 % of
// pages in one run; 512 refused 0-46 % over the runs since, most of it for
// the open loop's higher cost per page (docs/performance.md). It equals
// the client's bound, so a page's call is never refused by its own client.
const DefaultMaxInFlight = 512

// DefaultMaxConnections is -max-connections' default. A connection holds
// about 48 KiB (buffers and its goroutine's stack; measured by the
// benchmark's overload run, 112 MiB at 2048), so 1024 of them keep
// Marketplace well inside its 128 MiB Kubernetes limit; twice
// DefaultMaxInFlight, so pages in flight meet their own bound first.
const DefaultMaxConnections = 1024

// limitInFlight serves at most n requests with next at once (n <= 0: no
// bound) and answers the rest at once with the 503 page and Retry-After,
// so past saturation the page is refused fast rather than queued, and
// memory and latency stay bounded.
func limitInFlight(n int, next http.Handler) http.HandlerFunc {
	if n <= 0 {
		return next.ServeHTTP
	}
	// A refusal must cost far less than a page, or refusing would not
	// spare the service: its page is rendered once, here.
	busy := errorPage(http.StatusServiceUnavailable, "The shop is very busy right now. Please try again in a moment.")
	inFlight := &bounded.InFlight{Max: int64(n)}
	return func(w http.ResponseWriter, r *http.Request) {
		if !inFlight.Enter() {
			w.Header().Set("Retry-After", "1")
			writePage(w, http.StatusServiceUnavailable, busy)
			return
		}
		defer inFlight.Leave()
		next.ServeHTTP(w, r)
	}
}

// NewHandler routes the public port, behind observe:
//
//	GET /           the homepage (?category=mystery|science-fiction|self-help)
//	GET /style.css  the site's stylesheet
//	GET /healthz    200 while the process runs (liveness)
//	GET /readyz     200 when Recommendations answers its health check, else
//	                503 naming why (its status, or the call's code)
//
// Anything else is the site's 404 page, and another method on these paths
// its 405 page.
func NewHandler(o telemetry.Observability, conn grpc.ClientConnInterface, maxInFlight int) http.Handler {
	mux := http.NewServeMux()
	var routes []string
	get := func(path string, h http.HandlerFunc) {
		routes = append(routes, "GET "+path)
		mux.Handle("GET "+path, h) // GET also answers HEAD
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", "GET, HEAD")
			renderError(w, o.Log, http.StatusMethodNotAllowed, "This address only answers GET.")
		})
	}
	degraded := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "marketplace_pages_degraded_total",
		Help: "Homepages rendered with the notice that Recommendations are unavailable in place of the books.",
	})
	o.Metrics.MustRegister(degraded)
	get("/{$}", limitInFlight(maxInFlight, &Homepage{Client: pb.NewRecommendationsServiceClient(conn), Log: o.Log, Degraded: degraded}))
	get("/style.css", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(stylesheet)
	})
	get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	health := healthpb.NewHealthClient(conn)
	get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		resp, err := health.Check(r.Context(), &healthpb.HealthCheckRequest{Service: pb.RecommendationsService_ServiceDesc.ServiceName})
		switch {
		case err != nil:
			http.Error(w, "recommendations not ready: "+status.Code(err).String(), http.StatusServiceUnavailable)
		case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
			http.Error(w, "recommendations not ready: "+resp.GetStatus().String(), http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ready")
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		renderError(w, o.Log, http.StatusNotFound, "There is no page at this address.")
	})
	return observe(o, mux, routes)
}

// Run serves the Marketplace and its admin port until ctx ends, then drains
// both (see runner).
func Run(ctx context.Context, log *slog.Logger, cfg Config) error {
	svc := runner.Service{Name: "marketplace", OTLPEndpoint: cfg.OTLPEndpoint, APIAddr: cfg.HTTPAddr, AdminAddr: cfg.AdminAddr, APIListener: "page", ShutdownGrace: cfg.ShutdownGrace}
	return runner.Run(ctx, log, svc, func(o telemetry.Observability) (runner.Parts, error) {
		calls, err := client.NewInstrumentation(o)
		if err != nil {
			return runner.Parts{}, err
		}
		security, closeTLS, err := cfg.TLS.DialOptions()
		if err != nil {
			return runner.Parts{}, fmt.Errorf("TLS: %w", err)
		}
		conn, err := client.Dial(cfg.RecommendationsHost, append(security, calls.DialOptions(cfg.RecommendationsTimeout)...)...)
		if err != nil {
			closeTLS()
			return runner.Parts{}, fmt.Errorf("recommendations client: %w", err)
		}
		log.Info("calling recommendations", "target", conn.Target(), "tls", string(cfg.TLS.Mode))
		return runner.Parts{API: runner.HTTP{Handler: NewHandler(o, conn, cfg.MaxInFlight), MaxConns: cfg.MaxConnections}, Close: func() { conn.Close(); closeTLS() }}, nil
	})
}
