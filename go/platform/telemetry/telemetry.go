// Package telemetry sets up what the services share for observability:
// OpenTelemetry tracing with W3C trace context, and the Prometheus registry
// that /metrics serves.
package telemetry

import (
	"context"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// LatencyBuckets are the bounds, in seconds, of every latency histogram, a
// server's, a client's and the page's alike: finer than Prometheus'
// defaults below 10 ms, where these calls live.
var LatencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// Observability is where a component reports what it does: its log, its
// metrics, and its traces. A nil TracerProvider means tracing is off, and
// then no tracing instrumentation runs at all (it costs even when it records
// nothing).
type Observability struct {
	Log            *slog.Logger
	Metrics        prometheus.Registerer
	TracerProvider trace.TracerProvider
}

// Propagator carries W3C trace context and baggage across HTTP and gRPC.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// NewRegistry returns a Prometheus registry with the Go runtime and process
// collectors; each service registers its own metrics on it.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// TracerProvider returns the tracer provider for service. Tracing exports
// over OTLP/HTTP to endpoint (a URL such as http://collector:4318), or to the
// endpoint the standard OTEL_EXPORTER_OTLP_* variables name; with neither it
// is off and the provider is nil. shutdown flushes spans not yet exported.
func TracerProvider(ctx context.Context, service, endpoint string) (tp trace.TracerProvider, shutdown func(context.Context) error, err error) {
	var opts []otlptracehttp.Option
	switch {
	case endpoint != "":
		opts = append(opts, otlptracehttp.WithEndpointURL(endpoint))
	case os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "":
		return nil, func(context.Context) error { return nil }, nil
	}
	exporter, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, nil, err
	}
	sdk := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))),
	)
	return sdk, sdk.Shutdown, nil
}
