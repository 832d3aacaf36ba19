// Package grpcserver builds the gRPC server of every service here, with its
// interceptor chain assembled in one place:
//
//	tracing     OpenTelemetry spans, through a stats handler (when tracing is on)
//	metrics     Prometheus: calls started, handled by code, latency histogram
//	logging     one slog record per call: service, method, code, duration, peer
//	            (not for health checks)
//	errors      domain errors to statuses (domainerr)
//	recovery    a panic becomes INTERNAL; its value and stack are only logged
//
// Calls that gRPC refuses before any interceptor runs (undecodable or
// oversized requests, unknown methods) are counted and logged where they
// are refused instead (rejections).
//
// Recovery is the chain's innermost step, so a panic becomes an ordinary
// INTERNAL error that every other interceptor sees. Error mapping runs
// inside logging and metrics, so they record the code the client receives.
// Interceptors in the extra options New is given (authz, with tlsconfig's
// mTLS options) run after the chain, so their refusals are counted and
// logged too.
package grpcserver

import (
	"context"
	"runtime"
	"runtime/debug"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/platform/domainerr"
	"github.com/onlinebooks/bookstore/go/platform/telemetry"
)

// New returns a gRPC server with the interceptor chain described above and
// the given extra options (credentials and authorisation, keepalive), on
// which register has registered the services. Every method then has its
// metric series, at zero, before its first call.
func New(o telemetry.Observability, register func(Registrar), extra ...grpc.ServerOption) *grpc.Server {
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(telemetry.LatencyBuckets)))
	o.Metrics.MustRegister(metrics)
	recoveryOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		o.Log.ErrorContext(ctx, "panic in handler", "panic", p, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, domainerr.InternalMessage)
	})

	rejected := newRejections(o.Log)
	o.Metrics.MustRegister(rejected.total)
	// known holds the methods served, once registered (before serving): an
	// unknown method's stream passes the stream chain on its way to
	// rejected.unknownMethod, and must not mint a metric series or a log
	// record of its own.
	known := map[string]bool{}
	isKnown := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return known[c.FullMethod()]
	})
	opts := []grpc.ServerOption{
		grpc.UnknownServiceHandler(rejected.unknownMethod),
		// A call on a new goroutine grows its stack from the minimum
		// every time (runtime.morestack: 14 % of the server's CPU under
		// load in a profile); a few long-lived workers keep theirs. When
		// all are busy, gRPC starts a goroutine as before: nothing waits.
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
	}
	if o.TracerProvider != nil {
		opts = append(opts, grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(o.TracerProvider),
			otelgrpc.WithPropagators(telemetry.Propagator))))
	}
	opts = append(opts,
		grpc.ChainUnaryInterceptor(
			metrics.UnaryServerInterceptor(),
			unaryLogging(o.Log),
			domainerr.UnaryServerInterceptor(),
			recovery.UnaryServerInterceptor(recoveryOpt),
		),
		grpc.ChainStreamInterceptor(
			selector.StreamServerInterceptor(metrics.StreamServerInterceptor(), isKnown),
			selector.StreamServerInterceptor(streamLogging(o.Log), isKnown),
			domainerr.StreamServerInterceptor(),
			recovery.StreamServerInterceptor(recoveryOpt),
		),
	)
	srv := grpc.NewServer(append(opts, extra...)...)
	register(registrar{srv, rejected})
	metrics.InitializeMetrics(srv)
	for service, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			known["/"+service+"/"+m.Name] = true
		}
	}
	return srv
}

// healthPrefix starts the full method name of every health check, which
// neither the log nor the bound on calls in flight counts: probes call them
// every few seconds, and must answer however busy the server is.
var healthPrefix = "/" + healthpb.Health_ServiceDesc.ServiceName + "/"
