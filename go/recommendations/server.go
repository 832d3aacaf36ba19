// Package recommendations is the Recommendations service: the catalogue, the
// RecommendationsService implementation and the gRPC server that hosts it.
package recommendations

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/onlinebooks/bookstore/go/platform/grpcserver"
	"github.com/onlinebooks/bookstore/go/platform/lifecycle"
	"github.com/onlinebooks/bookstore/go/platform/runner"
	"github.com/onlinebooks/bookstore/go/platform/telemetry"
	"github.com/onlinebooks/bookstore/go/platform/tlsconfig"
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
	// MaxInFlight bounds the calls served at once; past it, calls are
	// refused at once with RESOURCE_EXHAUSTED (grpcserver.MaxInFlight).
	MaxInFlight int
	// OTLPEndpoint is where traces are exported; see telemetry.TracerProvider.
	OTLPEndpoint string
	// TLS secures the API port; under mtls it serves only TLS.AllowedClients.
	TLS tlsconfig.Server
}

// RegisterFlags defines the binary's flags on fs, with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.GRPCAddr, "grpc-addr", ":50051", "address of the gRPC API")
	fs.StringVar(&c.AdminAddr, "admin-addr", ":50052", "address of the admin port: /metrics and gRPC health")
	fs.StringVar(&c.CatalogPath, "catalog", "", "catalogue JSON file to serve (default: the embedded catalogue)")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 10*time.Second, "how long in-flight calls may finish after SIGTERM")
	fs.DurationVar(&c.MaxConnectionAge, "max-connection-age", DefaultMaxConnectionAge, "close each client connection after this long, so clients rebalance over replicas (0: never)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", DefaultMaxInFlight, "calls served at once; more are refused at once with RESOURCE_EXHAUSTED (0: no bound)")
	fs.StringVar(&c.OTLPEndpoint, "otel-exporter-otlp-endpoint", "", "OTLP/HTTP endpoint to export traces to, e.g. http://collector:4318 (default: tracing off)")
	c.TLS.AllowedClients = []string{"marketplace"}
	c.TLS.RegisterFlags(fs)
}

// HealthServer is the health service a server reports through: grpc-go's
// health.Server, or lifecycle.Health, which Serve uses because it also ends
// Watch streams at shutdown.
type HealthServer interface {
	healthpb.HealthServer
	SetServingStatus(service string, status healthpb.HealthCheckResponse_ServingStatus)
}

// NewGRPCServer returns the Recommendations gRPC server: svc, the standard
// health service (hs, reporting svc as SERVING) and server reflection,
// behind grpcserver's interceptor chain.
func NewGRPCServer(o telemetry.Observability, svc pb.RecommendationsServiceServer, hs HealthServer, extra ...grpc.ServerOption) *grpc.Server {
	return grpcserver.New(o, register(svc, hs), extra...)
}

func register(svc pb.RecommendationsServiceServer, hs HealthServer) func(grpcserver.Registrar) {
	return func(srv grpcserver.Registrar) {
		pb.RegisterRecommendationsServiceServer(srv, svc)
		healthpb.RegisterHealthServer(srv, hs)
		hs.SetServingStatus(pb.RecommendationsService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
		reflection.Register(srv)
	}
}

// DefaultMaxConnectionAge is -max-connection-age's default.
const DefaultMaxConnectionAge = 5 * time.Minute

// DefaultMaxInFlight is -max-in-flight's default: the bound of its Go
// client (client.MaxInFlight, which says how it was sized), so one such
// client never sends more than one replica admits, while an overload from
// many queues at most some tens of milliseconds of work per replica before
// it is refused.
const DefaultMaxInFlight = 512

// KeepaliveEnforcement lets clients ping as often as every 20 s, even
// between calls. grpc-go's default (5 min) answers the pings of a client
// that watches its connections (client.Keepalive pings every 30 s) by
// closing the connection with GOAWAY "too_many_pings".
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

// Run serves Recommendations over its catalogue and its admin port until
// ctx ends, then drains both (see runner).
func Run(ctx context.Context, log *slog.Logger, cfg Config) error {
	catalog := DefaultCatalog()
	if cfg.CatalogPath != "" {
		var err error
		if catalog, err = LoadCatalog(cfg.CatalogPath); err != nil {
			return err
		}
	}
	return Serve(ctx, log, cfg, NewService(catalog))
}

// Serve is Run with the implementation of the service given, behind the
// same server, ports and drain.
func Serve(ctx context.Context, log *slog.Logger, cfg Config, svc pb.RecommendationsServiceServer) error {
	svcRun := runner.Service{Name: "recommendations", OTLPEndpoint: cfg.OTLPEndpoint, APIAddr: cfg.GRPCAddr, AdminAddr: cfg.AdminAddr, APIListener: "api", ShutdownGrace: cfg.ShutdownGrace}
	return runner.Run(ctx, log, svcRun, func(o telemetry.Observability) (runner.Parts, error) {
		security, closeTLS, err := cfg.TLS.Options()
		if err != nil {
			return runner.Parts{}, fmt.Errorf("TLS: %w", err)
		}
		hs := lifecycle.NewHealth()
		extra := append(security,
			MaxConnectionAge(cfg.MaxConnectionAge, cfg.ShutdownGrace),
			grpc.KeepaliveEnforcementPolicy(KeepaliveEnforcement))
		api := NewGRPCServer(o, svc, hs, append(extra, grpcserver.MaxInFlight(cfg.MaxInFlight)...)...)
		// Probes reach the same health service on the admin port, in
		// plaintext (with reflection, so grpcurl can call it too).
		probes := grpc.NewServer()
		healthpb.RegisterHealthServer(probes, hs)
		reflection.Register(probes)
		return runner.Parts{API: runner.GRPC{Server: api, Health: hs}, Probes: probes, Close: closeTLS}, nil
	})
}
