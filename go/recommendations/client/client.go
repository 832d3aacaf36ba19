// Package client is how a Go program calls Recommendations: the target a
// host names, the connection's settings (service config, keepalive,
// reconnection backoff) and the calls' instrumentation. Marketplace, the
// load generator and the benchmark all dial through it.
package client

import (
	"context"
	_ "embed"
	"fmt"
	"net"
	"strings"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/timeout"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/platform/bounded"
	"github.com/onlinebooks/bookstore/go/platform/telemetry"
)

// DefaultPort is Recommendations' port when a host names none.
const DefaultPort = "50051"

// ServiceConfig is the clients' gRPC service config, shared with every
// language's client: proto/bookstore/recommendations/v1/service_config.json
// (BUILD.bazel copies it here).
//
// round_robin spreads calls over every address the name resolves to. Behind
// a Kubernetes headless Service that is every ready Recommendations pod; with
// one address (Compose, a ClusterIP) it behaves as pick_first. The resolver
// looks again whenever a connection ends, so pods that come and go (a
// rolling update, the server's maximum connection age) are picked up; at
// most every 30 s, unless the program lowers that with
// dns.SetMinResolutionInterval (a process-wide setting, so Marketplace's
// main sets it, not this package).
//
// A call that fails UNAVAILABLE (its pod went away under it) is tried again,
// on another connection, within the call's deadline. Recommend only reads,
// so a retry is safe. Nothing else is retried: RESOURCE_EXHAUSTED, a busy
// server's refusal, would only come back as more load. And retries stop
// while failures dominate (retryThrottling: each failure costs a token of
// 10, each success earns a tenth back, and below half no retry is made), so
// an outage is not doubled by its own retries.
//
//go:embed service_config.json
var ServiceConfig string

// Keepalive pings Recommendations after 30 s without traffic and drops the
// connection when no answer comes within 10 s, so a replica that vanished
// without closing its connections (a node lost, a network cut) is noticed
// in 40 s, not after the kernel's TCP timeout of about 15 minutes.
// Recommendations allows pings this often (recommendations.KeepaliveEnforcement).
var Keepalive = keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}

// Target turns a host as the seed's RECOMMENDATIONS_HOST gives it into a
// gRPC target: a bare host gets DefaultPort, and a host:port or a target
// URI such as dns:///recommendations:50051 is used as it is.
func Target(host string) string {
	if strings.Contains(host, ":///") {
		return host
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), DefaultPort)
}

// Dial creates a client of Recommendations at host (see Target): one
// long-lived connection per address its name resolves to, calls spread and
// retried as ServiceConfig says, at most MaxInFlight of them at once. It
// connects lazily and reconnects by itself; reconnection backoff is capped
// at 2 s (grpc-go's default grows to 2 minutes) so callers recover soon
// after Recommendations comes back. opts must secure the connection
// (tlsconfig's client options) and may add Instrumentation's.
func Dial(host string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	defaults := []grpc.DialOption{
		grpc.WithDefaultServiceConfig(ServiceConfig),
		grpc.WithKeepaliveParams(Keepalive),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: time.Second,
		}),
	}
	// The bound goes last, so it is the innermost interceptor: opts'
	// metrics count its refusals.
	return grpc.NewClient(Target(host), append(append(defaults, opts...), limitInFlight(MaxInFlight))...)
}

// MaxInFlight bounds the calls a client made by Dial has in flight at once,
// over all its connections. A call beyond it fails at once with
// RESOURCE_EXHAUSTED and is never sent.
//
// This is gRPC's client-side circuit breaking (gRFC A32, Envoy's
// max_requests), which grpc-go applies only under xDS; this package has
// none, so the few lines are here. It is what keeps an overload from
// queueing: past what Recommendations can serve, calls would otherwise wait
// in this client and in the connection, before the server reads them, so
// the server's own bound (its -max-in-flight) never sees them and latency
// grows with the queue. A refusal here costs the server nothing.
//
// 512 is sized by the benchmark's overload run, where Recommendations has
// the 500 millicores of its Kubernetes limit: once saturated, the kernel
// stops it in nearly every 100 ms period (for 30-39 ms, measured), and the
// calls made meanwhile must fit under the bound, or they are refused at
// loads the server can serve. At half its capacity a bound of 256 refused
// 6 % of calls, 512 none; at four times its capacity 512 kept the p99 of
// the calls served at 60-98 ms in the runs docs/performance.md reports,
// where without it the queue took it to 2 s. A bound of 64 took that p99
// to 30 ms, but refused calls at half of capacity and starved
// Marketplace's pages in flight of calls. It is the server's default bound
// as well (its -max-in-flight), so one client never sends more than one
// replica admits; Marketplace renders at most as many pages at once (its
// -max-in-flight), one call each.
const MaxInFlight = 512

// limitInFlight is the interceptor of MaxInFlight: a counter, as the
// server's (grpcserver.MaxInFlight). Health checks pass uncounted, so a
// readiness probe still answers while the client is full. Only unary calls
// are bounded: Recommendations' API has no stream.
func limitInFlight(n int) grpc.DialOption {
	inFlight := &bounded.InFlight{Max: int64(n)}
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if strings.HasPrefix(method, healthPrefix) {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		if !inFlight.Enter() {
			return errFull
		}
		defer inFlight.Leave()
		return invoker(ctx, method, req, reply, cc, opts...)
	})
}

var (
	healthPrefix = "/" + healthpb.Health_ServiceDesc.ServiceName + "/"
	errFull      = status.Error(codes.ResourceExhausted, fmt.Sprintf("not sent: this client has %d calls to recommendations in flight already", MaxInFlight))
)

// Instrumentation observes a process's calls to Recommendations: client
// metrics, on the registry it was made with, and a trace span per call when
// tracing is on. Make one per registry and give its DialOptions to every
// connection.
type Instrumentation struct {
	metrics *grpcprom.ClientMetrics
	o       telemetry.Observability
}

// NewInstrumentation registers the client metrics on o.Metrics, with the
// series of Recommend calls at zero from the start.
func NewInstrumentation(o telemetry.Observability) (*Instrumentation, error) {
	metrics := newZeroFilled(func() *grpcprom.ClientMetrics {
		return grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram(grpcprom.WithHistogramBuckets(telemetry.LatencyBuckets)))
	})
	if err := o.Metrics.Register(metrics); err != nil {
		return nil, fmt.Errorf("client metrics: %w", err)
	}
	return &Instrumentation{metrics: metrics.ClientMetrics, o: o}, nil
}

// DialOptions instrument a connection's calls and give each that has no
// earlier deadline one of callTimeout. Tracing propagates W3C trace context.
func (i *Instrumentation) DialOptions(callTimeout time.Duration) []grpc.DialOption {
	opts := []grpc.DialOption{grpc.WithChainUnaryInterceptor(
		timeout.UnaryClientInterceptor(callTimeout),
		i.metrics.UnaryClientInterceptor(),
	)}
	if i.o.TracerProvider != nil {
		opts = append(opts, grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(i.o.TracerProvider),
			otelgrpc.WithPropagators(telemetry.Propagator))))
	}
	return opts
}
