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

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/onlinebooks/bookstore/go/lifecycle"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// DefaultRecommendationsPort is used when RecommendationsHost has no port.
const DefaultRecommendationsPort = "50051"

// Config is what the marketplace binary is started with.
type Config struct {
	// HTTPAddr is the address the web page is served on, e.g. ":5000".
	HTTPAddr string
	// RecommendationsHost is where Recommendations is: a host, host:port or
	// gRPC target URI (see RecommendationsTarget).
	RecommendationsHost string
	// RecommendationsTimeout is the deadline of each call to Recommendations.
	RecommendationsTimeout time.Duration
	// ShutdownGrace bounds how long in-flight requests may run after SIGTERM.
	ShutdownGrace time.Duration
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

// DialRecommendations creates the one long-lived connection to
// Recommendations. It connects lazily and reconnects by itself; reconnection
// backoff is capped at 2 s (grpc-go's default grows to 2 minutes) so the page
// recovers soon after Recommendations comes back.
func DialRecommendations(host string) (*grpc.ClientConn, error) {
	return grpc.NewClient(RecommendationsTarget(host),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: time.Second,
		}))
}

// NewHandler routes the homepage and the health endpoints:
//
//	GET /         the homepage (?category=mystery|science-fiction|self-help)
//	GET /healthz  200 while the process runs (liveness)
//	GET /readyz   200 when Recommendations answers its health check, else 503
func NewHandler(log *slog.Logger, conn grpc.ClientConnInterface, timeout time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", &Homepage{Client: pb.NewRecommendationsServiceClient(conn), Timeout: timeout, Log: log})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	health := healthpb.NewHealthClient(conn)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: pb.RecommendationsService_ServiceDesc.ServiceName})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			http.Error(w, "recommendations not reachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// Run serves the Marketplace until ctx ends, then drains (see lifecycle).
func Run(ctx context.Context, log *slog.Logger, cfg Config) error {
	conn, err := DialRecommendations(cfg.RecommendationsHost)
	if err != nil {
		return fmt.Errorf("recommendations client: %w", err)
	}
	defer conn.Close()
	lis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening for HTTP: %w", err)
	}
	log.Info("calling recommendations", "target", conn.Target())
	srv := &http.Server{
		Handler:           NewHandler(log, conn, cfg.RecommendationsTimeout),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return lifecycle.ServeHTTP(ctx, log, srv, lis, cfg.ShutdownGrace)
}
