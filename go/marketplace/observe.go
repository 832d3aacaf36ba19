package marketplace

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/felixge/httpsnoop"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/onlinebooks/bookstore/go/platform/telemetry"
)

// observe wraps mux in what every page request goes through, outermost first:
// a trace span when tracing is on (continuing a W3C traceparent the request
// carries), an access log record, request metrics, and panic recovery to a
// generic 500 page.
// Routes are named by mux's pattern ("GET /{$}"), "unmatched" when none
// matches, so a flood of odd paths cannot mint new series.
func observe(o telemetry.Observability, mux *http.ServeMux) http.Handler {
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

	route := func(r *http.Request) string {
		if _, pattern := mux.Handler(r); pattern != "" {
			return pattern
		}
		return "unmatched"
	}
	inner := recoverPanics(o.Log, mux)
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := httpsnoop.CaptureMetrics(inner, w, r)
		rt, code := route(r), strconv.Itoa(m.Code)
		requests.WithLabelValues(rt, r.Method, code).Inc()
		duration.WithLabelValues(rt, r.Method, code).Observe(m.Duration.Seconds())

		level := slog.LevelInfo
		switch {
		case m.Code >= 500:
			level = slog.LevelError
		case m.Code >= 400:
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("uri", r.URL.RequestURI()),
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
			log.ErrorContext(r.Context(), "panic in handler", "panic", p, "stack", string(debug.Stack()), "uri", r.URL.RequestURI())
			renderError(w, log, http.StatusInternalServerError, "Something went wrong on our side. Please try again.")
		}()
		next.ServeHTTP(w, r)
	})
}
