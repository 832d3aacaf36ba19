// Package recommendations is the Recommendations service: the catalogue, the
// RecommendationsService implementation and the gRPC server that hosts it.
package recommendations

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/onlinebooks/bookstore/go/admin"
	"github.com/onlinebooks/bookstore/go/grpcserver"
	"github.com/onlinebooks/bookstore/go/lifecycle"
	"github.com/onlinebooks/bookstore/go/telemetry"
	"github.com/onlinebooks/bookstore/go/tlsconfig"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// Config is what the recommendations binary is started with.
type Config struct {
	// GRPCAddr is the address the gRPC API listens on, e.g. ":50051".
	GRPCAddr string
	// AdminAddr is the address of the plaintext admin port (/metrics and the
	// gRPC health service), e.g. ":50052".
	AdminAddr string
	// CatalogPath is a catalogue file to serve; empty means the embedded one.
	CatalogPath string
	// ShutdownGrace bounds how long in-flight calls may run after SIGTERM.
	ShutdownGrace time.Duration
	// MaxConnectionAge closes each client connection after this long (with
	// ShutdownGrace for its calls to finish), so clients resolve the name
	// again and spread over replicas that came up since; 0 keeps connections
	// for ever.
	MaxConnectionAge time.Duration
	// ExtraLatency delays every Recommend call (fault drills only).
	ExtraLatency time.Duration
	// WithoutInterceptors serves without the interceptor chain (benchmarks
	// only: //go/cmd/bench compares the two).
	WithoutInterceptors bool
	// OTLPEndpoint is where traces are exported; see telemetry.TracerProvider.
	OTLPEndpoint string
	// TLSMode secures the API port: plaintext, tls or mtls.
	TLSMode tlsconfig.Mode
	// TLS holds the server's certificate and key, and the CA of client
	// certificates (mtls).
	TLS tlsconfig.Files
	// AllowedClients are the client identities served under mtls.
	AllowedClients []string
}

// NewGRPCServer returns the Recommendations gRPC server: svc, the standard
// health service (hs, reporting svc as SERVING) and server reflection,
// behind grpcserver's interceptor chain.
func NewGRPCServer(o telemetry.Observability, svc pb.RecommendationsServiceServer, hs *health.Server, extra ...grpc.ServerOption) *grpc.Server {
	return grpcserver.New(o, register(svc, hs), extra...)
}

// newBareServer is NewGRPCServer without the interceptor chain: no metrics,
// logs, recovery or error mapping. Only benchmarks use it, to measure what
// the chain costs (Config.WithoutInterceptors).
func newBareServer(svc pb.RecommendationsServiceServer, hs *health.Server, extra ...grpc.ServerOption) *grpc.Server {
	srv := grpc.NewServer(extra...)
	register(svc, hs)(srv)
	return srv
}

func register(svc pb.RecommendationsServiceServer, hs *health.Server) func(*grpc.Server) {
	return func(srv *grpc.Server) {
		pb.RegisterRecommendationsServiceServer(srv, svc)
		healthpb.RegisterHealthServer(srv, hs)
		hs.SetServingStatus(pb.RecommendationsService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
		reflection.Register(srv)
	}
}

// KeepaliveEnforcement lets clients ping as often as every 20 s, even
// between calls. grpc-go's default (5 min) answers the pings of a client
// that watches its connections (Marketplace pings every 30 s) by closing the
// connection with GOAWAY "too_many_pings".
var KeepaliveEnforcement = keepalive.EnforcementPolicy{MinTime: 20 * time.Second, PermitWithoutStream: true}

// MaxConnectionAge makes the server end every connection after age with a
// GOAWAY, giving its calls grace to finish. A long-lived HTTP/2 connection
// otherwise stays on the replica it first reached, however many are added.
// An age of 0 means no limit.
func MaxConnectionAge(age, grace time.Duration) grpc.ServerOption {
	if age <= 0 {
		return grpc.EmptyServerOption{}
	}
	return grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionAge: age, MaxConnectionAgeGrace: grace})
}

// Run serves Recommendations and its admin port until ctx ends, then drains
// both (see lifecycle). If either server fails, the other is drained too.
func Run(ctx context.Context, log *slog.Logger, cfg Config) error {
	catalog := DefaultCatalog()
	if cfg.CatalogPath != "" {
		var err error
		if catalog, err = LoadCatalog(cfg.CatalogPath); err != nil {
			return err
		}
	}
	creds, err := tlsconfig.ServerCredentials(cfg.TLSMode, cfg.TLS)
	if err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	extra := []grpc.ServerOption{
		grpc.Creds(creds),
		MaxConnectionAge(cfg.MaxConnectionAge, cfg.ShutdownGrace),
		grpc.KeepaliveEnforcementPolicy(KeepaliveEnforcement),
	}
	if cfg.TLSMode == tlsconfig.MutualTLS {
		extra = append(extra, tlsconfig.Allow(cfg.AllowedClients).ServerOptions()...)
	}

	tp, stopTracing, err := telemetry.TracerProvider(ctx, "recommendations", cfg.OTLPEndpoint)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer stopTracing(context.WithoutCancel(ctx))
	apiLis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listening for gRPC: %w", err)
	}
	adminLis, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		apiLis.Close()
		return fmt.Errorf("listening for admin: %w", err)
	}

	reg := telemetry.NewRegistry()
	hs := health.NewServer()
	svc := NewService(catalog, WithExtraLatency(cfg.ExtraLatency))
	var api *grpc.Server
	if cfg.WithoutInterceptors {
		api = newBareServer(svc, hs, extra...)
	} else {
		api = NewGRPCServer(telemetry.Observability{Log: log, Metrics: reg, TracerProvider: tp}, svc, hs, extra...)
	}
	// Probes reach the same health service on the admin port, in plaintext
	// (with reflection, so grpcurl can call it too).
	probes := grpc.NewServer()
	healthpb.RegisterHealthServer(probes, hs)
	reflection.Register(probes)
	adminLog := log.With("listener", "admin")
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return lifecycle.ServeGRPC(gctx, log.With("listener", "api"), api, apiLis, hs, cfg.ShutdownGrace)
	})
	g.Go(func() error {
		return lifecycle.ServeHTTP(gctx, adminLog, admin.NewServer(admin.Handler(reg, probes), adminLog), adminLis, cfg.ShutdownGrace)
	})
	return g.Wait()
}
