// Package recommendations is the Recommendations service: the catalogue, the
// RecommendationsService implementation and the gRPC server that hosts it.
package recommendations

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/onlinebooks/bookstore/go/domainerr"
	"github.com/onlinebooks/bookstore/go/lifecycle"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// Config is what the recommendations binary is started with.
type Config struct {
	// GRPCAddr is the address the gRPC API listens on, e.g. ":50051".
	GRPCAddr string
	// CatalogPath is a catalogue file to serve; empty means the embedded one.
	CatalogPath string
	// ShutdownGrace bounds how long in-flight calls may run after SIGTERM.
	ShutdownGrace time.Duration
	// ExtraLatency delays every Recommend call (fault drills only).
	ExtraLatency time.Duration
}

// NewGRPCServer returns a gRPC server that serves svc, the standard health
// service (hs, reporting svc as SERVING) and server reflection, with domain
// errors mapped to statuses.
func NewGRPCServer(svc pb.RecommendationsServiceServer, hs *health.Server) *grpc.Server {
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(domainerr.UnaryServerInterceptor()))
	pb.RegisterRecommendationsServiceServer(srv, svc)
	healthpb.RegisterHealthServer(srv, hs)
	hs.SetServingStatus(pb.RecommendationsService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	reflection.Register(srv)
	return srv
}

// Run serves Recommendations until ctx ends, then drains (see lifecycle).
func Run(ctx context.Context, log *slog.Logger, cfg Config) error {
	catalog := DefaultCatalog()
	if cfg.CatalogPath != "" {
		var err error
		if catalog, err = LoadCatalog(cfg.CatalogPath); err != nil {
			return err
		}
	}
	lis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listening for gRPC: %w", err)
	}
	hs := health.NewServer()
	srv := NewGRPCServer(NewService(catalog, WithExtraLatency(cfg.ExtraLatency)), hs)
	return lifecycle.ServeGRPC(ctx, log, srv, lis, hs, cfg.ShutdownGrace)
}
