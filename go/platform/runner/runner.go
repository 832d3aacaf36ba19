// Package runner is the skeleton every service here runs in: tracing, a
// metrics registry, the API listener and the admin listener, served side by
// side until the process is told to stop, then drained (lifecycle). A
// service's Run only wires its parts into it.
package runner

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/onlinebooks/bookstore/go/platform/admin"
	"github.com/onlinebooks/bookstore/go/platform/lifecycle"
	"github.com/onlinebooks/bookstore/go/platform/telemetry"
)

// Service says where a service listens and how it stops.
type Service struct {
	// Name is the service's name in traces, e.g. "recommendations".
	Name string
	// OTLPEndpoint is where traces are exported; see telemetry.TracerProvider.
	OTLPEndpoint string
	// APIAddr and AdminAddr are the addresses of the API (gRPC or the page)
	// and of the plaintext admin port (/metrics, probes).
	APIAddr, AdminAddr string
	// APIListener names the API listener in the logs: "api", "page".
	APIListener string
	// ShutdownGrace bounds how long the API's in-flight work may run after
	// ctx ends; the admin port then has at most adminGrace more.
	ShutdownGrace time.Duration
}

// Parts are what a service serves, made by its build function once tracing
// and metrics exist.
type Parts struct {
	// API serves the API port: a GRPC or an HTTP.
	API API
	// Probes, when not nil, serves gRPC on the admin port (the health
	// service, for probes that cannot present a client certificate).
	Probes *grpc.Server
	// Close, when not nil, releases what build acquired (a client
	// connection, watched files), after both ports have drained.
	Close func()
}

// API is the server of a service's API port.
type API interface {
	serve(ctx context.Context, log *slog.Logger, lis net.Listener, grace time.Duration) error
}

// GRPC is a gRPC API. Health, when not nil, turns NOT_SERVING as the drain
// begins.
type GRPC struct {
	Server *grpc.Server
	Health *lifecycle.Health
}

func (g GRPC) serve(ctx context.Context, log *slog.Logger, lis net.Listener, grace time.Duration) error {
	return lifecycle.ServeGRPC(ctx, log, g.Server, lis, g.Health, grace)
}

// HTTP is an HTTP API, served with lifecycle.NewHTTPServer's timeouts.
type HTTP struct {
	Handler http.Handler
	// MaxConns bounds the connections open at once (0: no bound). Each
	// holds buffers and a goroutine, so without a bound any client could
	// grow the process past its memory limit by opening enough of them;
	// past it, new connections wait in the kernel's accept queue until
	// one closes (an idle one does after the server's idle timeout).
	MaxConns int
}

func (h HTTP) serve(ctx context.Context, log *slog.Logger, lis net.Listener, grace time.Duration) error {
	if h.MaxConns > 0 {
		lis = netutil.LimitListener(lis, h.MaxConns)
	}
	return lifecycle.ServeHTTP(ctx, log, lifecycle.NewHTTPServer(h.Handler, log), lis, grace)
}

// adminGrace bounds the admin port's own drain, after the API's: a scrape
// or a probe takes milliseconds, and a whole shutdown must stay within
// ShutdownGrace plus this, which the manifests' terminationGracePeriodSeconds
// allow for.
const adminGrace = 2 * time.Second

// Run builds svc's parts with its observability and serves them until ctx
// ends, then drains the API port and after it the admin port. If either
// port fails, the other is drained too, and Run returns the failure.
func Run(ctx context.Context, log *slog.Logger, svc Service, build func(telemetry.Observability) (Parts, error)) error {
	tp, stopTracing, err := telemetry.TracerProvider(ctx, svc.Name, svc.OTLPEndpoint)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer stopTracing(context.WithoutCancel(ctx))
	reg := telemetry.NewRegistry()
	parts, err := build(telemetry.Observability{Log: log, Metrics: reg, TracerProvider: tp})
	if err != nil {
		return err
	}
	if parts.Close != nil {
		defer parts.Close()
	}

	apiLis, err := net.Listen("tcp", svc.APIAddr)
	if err != nil {
		return fmt.Errorf("listening for %s: %w", svc.APIListener, err)
	}
	adminLis, err := net.Listen("tcp", svc.AdminAddr)
	if err != nil {
		apiLis.Close()
		return fmt.Errorf("listening for admin: %w", err)
	}
	var probes http.Handler
	if parts.Probes != nil {
		probes = parts.Probes
	}
	apiLog, adminLog := log.With("listener", svc.APIListener), log.With("listener", "admin")
	g, gctx := errgroup.WithContext(ctx)
	// The admin port outlives the API's drain: probes see NOT_SERVING
	// rather than a refused connection, and the last scrape counts the
	// drained calls. It stops once the API has, or when it fails itself.
	adminCtx, stopAdmin := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAdmin()
	g.Go(func() error {
		defer stopAdmin()
		return parts.API.serve(gctx, apiLog, apiLis, svc.ShutdownGrace)
	})
	g.Go(func() error {
		return lifecycle.ServeHTTP(adminCtx, adminLog, admin.NewServer(admin.Handler(reg, probes), adminLog), adminLis, min(svc.ShutdownGrace, adminGrace))
	})
	return g.Wait()
}
