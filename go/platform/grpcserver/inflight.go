package grpcserver

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/platform/bounded"
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
	inFlight := &bounded.InFlight{Max: int64(n)}
	// admit counts a call in, or refuses it; health checks pass uncounted.
	admit := func(method string) (counted bool, err error) {
		if strings.HasPrefix(method, healthPrefix) {
			return false, nil
		}
		if !inFlight.Enter() {
			return false, errBusy
		}
		return true, nil
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		counted, err := admit(info.FullMethod)
		if err != nil {
			return nil, err
		}
		if counted {
			defer inFlight.Leave()
		}
		return handler(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		counted, err := admit(info.FullMethod)
		if err != nil {
			return err
		}
		if counted {
			defer inFlight.Leave()
		}
		return handler(srv, ss)
	}
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream)}
}

var errBusy = status.Error(codes.ResourceExhausted, "server busy: too many calls in progress, try again shortly")
