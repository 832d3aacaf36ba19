// Package marketplace is the Marketplace web app: the homepage that shows
// recommendations from the Recommendations service, and its HTTP server.
package marketplace

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/timeout"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/onlinebooks/bookstore/go/admin"
	"github.com/onlinebooks/bookstore/go/lifecycle"
	"github.com/onlinebooks/bookstore/go/telemetry"
	"github.com/onlinebooks/bookstore/go/tlsconfig"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// DefaultRecommendationsPort is used when RecommendationsHost has no port.
const DefaultRecommendationsPort = "50051"

// Config is what the marketplace binary is started with.
type Config struct {
	// HTTPAddr is the address the web page is served on, e.g. ":5000".
	HTTPAddr string
	// AdminAddr is the address of the admin port (/metrics), e.g. ":5001".
	AdminAddr string
	// RecommendationsHost is where Recommendations is: a host, host:port or
	// gRPC target URI (see RecommendationsTarget).
	RecommendationsHost string
	// RecommendationsTimeout is the deadline of each call to Recommendations.
	RecommendationsTimeout time.Duration
	// ShutdownGrace bounds how long in-flight requests may run after SIGTERM.
	ShutdownGrace time.Duration
	// OTLPEndpoint is where traces are exported; see telemetry.TracerProvider.
	OTLPEndpoint string
	// TLSMode secures the connection to Recommendations: plaintext, tls or mtls.
	TLSMode tlsconfig.Mode
	// TLS holds the CA of Recommendations' certificate, and the client
	// certificate and key (mtls).
	TLS tlsconfig.Files
	// TLSServerName is the name Recommendations' certificate must carry;
	// empty means the host of RecommendationsHost.
	TLSServerName string
}

// RecommendationsTarget turns the seed's RECOMMENDATIONS_HOST into a gRPC
// target: a bare host gets the default port, and a target URI such as
// dns:///recommendations:50051 is used as it is.
func RecommendationsTarget(host string) string {
	if strings.Contains(host, ":///") {
		return host
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), DefaultRecommendationsPort)
}

// ClientOptions are the options of the connection to Recommendations: a
// trace span per call when tracing is on (propagating W3C trace context),
// client metrics, and a deadline for every call that has no earlier one.
func ClientOptions(o telemetry.Observability, callTimeout time.Duration) []grpc.DialOption {
	metrics := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram(grpcprom.WithHistogramBuckets(telemetry.LatencyBuckets)))
	o.Metrics.MustRegister(metrics)
	opts := []grpc.DialOption{grpc.WithChainUnaryInterceptor(
		timeout.UnaryClientInterceptor(callTimeout),
		metrics.UnaryClientInterceptor(),
	)}
	if o.TracerProvider != nil {
		opts = append(opts, grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(o.TracerProvider),
			otelgrpc.WithPropagators(telemetry.Propagator))))
	}
	return opts
}

// serviceConfig is the client's gRPC service config.
//
// round_robin spreads calls over every address the name resolves to. Behind
// a Kubernetes headless Service that is every ready Recommendations pod; with
// one address (Compose, a ClusterIP) it behaves as pick_first. The resolver
// looks again whenever a connection ends, so pods that come and go (a
// rolling update, the server's maximum connection age) are picked up.
//
// A call that fails UNAVAILABLE (its pod went away under it) is tried again,
// on another connection, within the call's deadline. Recommend only reads,
// so a retry is safe.
const serviceConfig = `{
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{"service": "bookstore.recommendations.v1.RecommendationsService"}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.02s",
      "maxBackoff": "0.1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// ClientKeepalive pings Recommendations after 30 s without traffic and
// drops the connection when no answer comes within 10 s, so a replica that
// vanished without closing its connections (a node lost, a network cut) is
// noticed in 40 s, not after the kernel's TCP timeout of about 15 minutes.
// Recommendations allows pings this often (recommendations.KeepaliveEnforcement).
var ClientKeepalive = keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}

// DialRecommendations creates the client of Recommendations, secured by
// creds: one long-lived connection per address its name resolves to, calls
// spread round robin and retried when UNAVAILABLE (serviceConfig). It
// connects lazily and reconnects by itself; reconnection backoff is capped
// at 2 s (grpc-go's default grows to 2 minutes) so the page recovers soon
// after Recommendations comes back.
func DialRecommendations(host string, creds credentials.TransportCredentials, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	return grpc.NewClient(RecommendationsTarget(host), append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithKeepaliveParams(ClientKeepalive),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: time.Second,
		}),
	}, opts...)...)
}

// NewHandler routes the public port, behind observe:
//
//	GET /         the homepage (?category=mystery|science-fiction|self-help)
//	GET /healthz  200 while the process runs (liveness)
//	GET /readyz   200 when Recommendations answers its health check, else 503
func NewHandler(o telemetry.Observability, conn grpc.ClientConnInterface) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", &Homepage{Client: pb.NewRecommendationsServiceClient(conn), Log: o.Log})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	health := healthpb.NewHealthClient(conn)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		resp, err := health.Check(r.Context(), &healthpb.HealthCheckRequest{Service: pb.RecommendationsService_ServiceDesc.ServiceName})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			http.Error(w, "recommendations not reachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return observe(o, mux)
}

// Run serves the Marketplace and its admin port until ctx ends, then drains
// both (see lifecycle). If either server fails, the other is drained too.
func Run(ctx context.Context, log *slog.Logger, cfg Config) error {
	tp, stopTracing, err := telemetry.TracerProvider(ctx, "marketplace", cfg.OTLPEndpoint)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer stopTracing(context.WithoutCancel(ctx))
	reg := telemetry.NewRegistry()
	o := telemetry.Observability{Log: log, Metrics: reg, TracerProvider: tp}
	creds, err := tlsconfig.ClientCredentials(cfg.TLSMode, cfg.TLS, cfg.TLSServerName)
	if err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	conn, err := DialRecommendations(cfg.RecommendationsHost, creds, ClientOptions(o, cfg.RecommendationsTimeout)...)
	if err != nil {
		return fmt.Errorf("recommendations client: %w", err)
	}
	defer conn.Close()
	pageLis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening for HTTP: %w", err)
	}
	adminLis, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		pageLis.Close()
		return fmt.Errorf("listening for admin: %w", err)
	}
	log.Info("calling recommendations", "target", conn.Target(), "tls", string(cfg.TLSMode))

	pageLog, adminLog := log.With("listener", "page"), log.With("listener", "admin")
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return lifecycle.ServeHTTP(gctx, pageLog, lifecycle.NewHTTPServer(NewHandler(o, conn), pageLog), pageLis, cfg.ShutdownGrace)
	})
	g.Go(func() error {
		return lifecycle.ServeHTTP(gctx, adminLog, admin.NewServer(admin.Handler(reg, nil), adminLog), adminLis, cfg.ShutdownGrace)
	})
	return g.Wait()
}
