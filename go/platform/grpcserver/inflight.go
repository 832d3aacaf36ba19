package grpcserver

import (
	"context"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"golang.org/x/sync/semaphore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MaxInFlight bounds the calls a server works on at once to n (health
// checks aside, so probes still answer): a call beyond it is refused at
// once with RESOURCE_EXHAUSTED instead of queueing, so past saturation
// latency and memory stay bounded and the client hears "busy" at once.
// Clients here do not retry RESOURCE_EXHAUSTED (the service config retries
// only UNAVAILABLE), so refusals do not come back as more load. n <= 0
// means no bound. Its options go in New's extra options, inside the chain,
// whose metrics and logs then show the refusals.
func MaxInFlight(n int) []grpc.ServerOption {
	if n <= 0 {
		return nil
	}
	sem := semaphore.NewWeighted(int64(n))
	admit := func() error {
		if !sem.TryAcquire(1) {
			return status.Error(codes.ResourceExhausted, "server busy: too many calls in progress, try again shortly")
		}
		return nil
	}
	unary := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := admit(); err != nil {
			return nil, err
		}
		defer sem.Release(1)
		return handler(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := admit(); err != nil {
			return err
		}
		defer sem.Release(1)
		return handler(srv, ss)
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(selector.UnaryServerInterceptor(unary, notHealth)),
		grpc.ChainStreamInterceptor(selector.StreamServerInterceptor(stream, notHealth)),
	}
}
