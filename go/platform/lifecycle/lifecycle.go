// Package lifecycle runs servers until their context ends and then drains
// them within a bounded grace period: the part of a service's main that is
// easy to get wrong (grpc-go#1110, #2448) and worth testing once.
package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
)

// The messages of the records ServeGRPC and ServeHTTP log once their
// listener serves, with its address ("addr"). Whatever starts a service on
// port 0 learns the address from them.
const (
	ServingGRPC = "serving gRPC"
	ServingHTTP = "serving HTTP"
)

// ServeGRPC serves srv on lis until ctx is done or serving fails. On ctx's
// end it reports NOT_SERVING through hs (when not nil), lets in-flight calls
// finish with GracefulStop, and cuts them off with Stop once grace has
// passed. It returns nil after a drain, whether graceful or cut off.
func ServeGRPC(ctx context.Context, log *slog.Logger, srv *grpc.Server, lis net.Listener, hs *Health, grace time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	log.Info(ServingGRPC, "addr", lis.Addr().String())

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}

	log.Info("shutting down gRPC server", "grace", grace.String())
	if hs != nil {
		hs.Shutdown()
	}
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-stopped:
		log.Info("gRPC server drained")
	case <-timer.C:
		log.Warn("grace period over, cutting off in-flight calls", "grace", grace.String())
		srv.Stop()
		<-stopped
	}
	<-served
	return nil
}

// ServeHTTP serves srv on lis until ctx is done or serving fails, then shuts
// it down, waiting at most grace for in-flight requests.
func ServeHTTP(ctx context.Context, log *slog.Logger, srv *http.Server, lis net.Listener, grace time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	log.Info(ServingHTTP, "addr", lis.Addr().String())

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}

	log.Info("shutting down HTTP server", "grace", grace.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("grace period over, closing open connections", "grace", grace.String())
		err = srv.Close()
	}
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return err
}
