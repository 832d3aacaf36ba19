package marketplace

import (
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/onlinebooks/bookstore/go/platform/bounded"

	"github.com/felixge/httpsnoop"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/onlinebooks/bookstore/go/platform/telemetry"
)

// observe wraps mux in what every page request goes through, outermost first:
// a trace span when tracing is on (continuing a W3C traceparent the request
// carries), an access log record, request metrics, the security headers,
// and panic recovery to a generic 500 page.
//
// Every label comes from a known set, so no request can mint a new series:
// routes are mux's patterns ("GET /{$}"; "unmatched" when none matches),
// methods the standard ones (anything else is "other"), and codes the few
// the handlers answer with.
//
// The series of a successful GET of each of routes exist, at zero, from the
// start, so a rate over them is defined before the first visit.
func observe(o telemetry.Observability, mux *http.ServeMux, routes []string) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests answered, by route, method and status code.",
	}, []string{"route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by route, method and status code.",
		Buckets: telemetry.LatencyBuckets,
	}, []string{"route", "method", "code"})
	o.Metrics.MustRegister(requests, duration)
	for _, rt := range routes {
		requests.WithLabelValues(rt, http.MethodGet, "200")
		duration.WithLabelValues(rt, http.MethodGet, "200")
	}

	route := func(r *http.Request) string {
		pattern := r.Pattern // set by mux once it has routed r
		if pattern == "" {
			_, pattern = mux.Handler(r) // not routed yet: the span's name
		}
		// "/" is the 404 page's catch-all (NewHandler).
		if pattern == "" || pattern == "/" {
			return "unmatched"
		}
		return pattern
	}
	inner := secure(recoverPanics(o.Log, mux))
	unavailable := rate.NewLimiter(1, 1) // a 503's record, once a second at most
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := httpsnoop.CaptureMetrics(inner, w, r)
		rt, method, code := route(r), methodLabel(r.Method), strconv.Itoa(m.Code)
		requests.WithLabelValues(rt, method, code).Inc()
		duration.WithLabelValues(rt, method, code).Observe(m.Duration.Seconds())

		// As for gRPC calls (grpcserver.CodeToLevel): what went well is
		// DEBUG, so the default INFO writes a record only for what did not.
		level := slog.LevelDebug
		switch {
		case m.Code == http.StatusServiceUnavailable:
			// Load refused (limitInFlight) or not ready: under overload,
			// thousands a second of one condition, which the metrics
			// count. A record each would cost the CPU that refusing is
			// meant to spare.
			level = slog.LevelWarn
			if !unavailable.Allow() {
				return
			}
		case m.Code >= 500:
			level = slog.LevelError
		case m.Code >= 400 && m.Code != StatusClientClosedRequest:
			level = slog.LevelWarn
		}
		if !o.Log.Enabled(r.Context(), level) {
			return // most requests, at the default level: build no record
		}
		attrs := []slog.Attr{
			slog.String("method", method),
			slog.String("uri", bounded.Excerpt(r.URL.RequestURI(), maxLoggedURI)),
			slog.String("route", rt),
			slog.Int("code", m.Code),
			slog.Int64("time_us", m.Duration.Microseconds()),
			slog.Int64("bytes", m.Written),
			slog.String("peer.address", r.RemoteAddr),
		}
		if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
			attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
		}
		o.Log.LogAttrs(r.Context(), level, "http request", attrs...)
	})
	if o.TracerProvider == nil {
		return logged
	}
	return otelhttp.NewHandler(logged, "marketplace",
		otelhttp.WithTracerProvider(o.TracerProvider),
		otelhttp.WithPropagators(telemetry.Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return route(r) }))
}

// maxLoggedURI bounds the request URI in a log record: a 100 KB address
// would otherwise make a 100 KB line.
const maxLoggedURI = 512

// methodLabel is r.Method as a metric label and in the log: the standard
// methods as they are, anything else "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "other"
}

// securityHeaders go on every response. The pages load nothing but their
// own stylesheet and run no script, so the policy allows exactly that; no
// other site may frame them (clickjacking), browsers must not guess
// content types, and links tell other sites nothing of the page's address.
//
// They are set by sharing these values rather than by Header.Set, which
// allocates a slice per header per response: net/http and the handlers
// only ever replace or append to a header's values, never write into them.
var securityHeaders = http.Header{
	"Content-Security-Policy": {"default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
	"X-Frame-Options":         {"DENY"},
	"X-Content-Type-Options":  {"nosniff"},
	"Referrer-Policy":         {"no-referrer"},
}

func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		maps.Copy(w.Header(), securityHeaders)
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a handler's panic into the generic 500 page; the panic
// and its stack go only to the log.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p) // net/http's own signal to abort the response
			}
			log.ErrorContext(r.Context(), "panic in handler", "panic", p, "stack", string(debug.Stack()), "uri", bounded.Excerpt(r.URL.RequestURI(), maxLoggedURI))
			renderError(w, log, http.StatusInternalServerError, "Something went wrong on our side. Please try again.")
		}()
		next.ServeHTTP(w, r)
	})
}
