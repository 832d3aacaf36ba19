package grpcserver

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/platform/bounded"
)

// rejections sees the calls that gRPC itself refuses before any
// interceptor runs, which the chain's metrics and logs therefore never see:
// a request that does not decode (INTERNAL), one over the message size
// limit (RESOURCE_EXHAUSTED), an unknown method (UNIMPLEMENTED). It is a
// stats handler, the one hook gRPC calls for them. Each is counted; a
// record is logged at most once a second, so a flood of garbage cannot
// flood the log. Other ends before the chain (a client that cancels while
// its request is still arriving, a call cut off at the end of a drain)
// are not refusals and are left alone.
type rejections struct {
	total     *prometheus.CounterVec
	log       *slog.Logger
	sometimes rate.Sometimes
	// known are the methods the server serves ("/pkg.Service/Method"),
	// set once they are registered, before the server serves.
	known map[string]bool
}

// rejectedCodes are the codes a refusal before the handler has: their
// series exist, at zero, from the start.
var rejectedCodes = []codes.Code{codes.Internal, codes.ResourceExhausted, codes.Unimplemented}

func newRejections(log *slog.Logger) *rejections {
	r := &rejections{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_rejected_total",
			Help: "Calls refused before reaching a handler (undecodable or oversized requests, unknown methods), by code.",
		}, []string{"grpc_code"}),
		log:       log,
		sometimes: rate.Sometimes{Interval: time.Second},
	}
	for _, c := range rejectedCodes {
		r.total.WithLabelValues(c.String())
	}
	return r
}

// reachedKey marks, in a call's context, whether the chain saw the call.
type reachedKey struct{}

// maxLogged bounds what a refusal's record quotes of the method name and
// the error: the client chooses the first, and the second may quote its
// headers.
const maxLogged = 128

type callInfo struct {
	reached atomic.Bool
	unknown bool   // a method the server does not serve
	method  string // as the client sent it: cut only when logged
}

func (r *rejections) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, reachedKey{}, &callInfo{
		unknown: !r.known[info.FullMethodName],
		method:  info.FullMethodName,
	})
}

func (r *rejections) HandleRPC(ctx context.Context, s stats.RPCStats) {
	call, _ := ctx.Value(reachedKey{}).(*callInfo)
	if call == nil {
		return
	}
	switch s := s.(type) {
	case *stats.InHeader:
		// An unknown method ends with UNIMPLEMENTED and no End: its
		// header is the last gRPC reports of it.
		if call.unknown {
			r.refused(ctx, call, status.New(codes.Unimplemented, "unknown method"))
		}
	case *stats.End:
		if s.Error == nil || call.reached.Load() || call.unknown {
			return // served, or counted by the chain, or counted above
		}
		if st := status.Convert(s.Error); slices.Contains(rejectedCodes, st.Code()) {
			r.refused(ctx, call, st)
		}
	}
}

func (r *rejections) refused(ctx context.Context, call *callInfo, st *status.Status) {
	r.total.WithLabelValues(st.Code().String()).Inc()
	r.sometimes.Do(func() {
		r.log.WarnContext(ctx, "call refused before its handler (logged at most once a second)",
			"grpc.method", bounded.Excerpt(call.method, maxLogged), "grpc.code", st.Code().String(), "grpc.error", bounded.Excerpt(st.Message(), maxLogged))
	})
}

func (r *rejections) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (r *rejections) HandleConn(context.Context, stats.ConnStats) {}

// markReached is the chain's first step: the call got past gRPC's own
// checks, so the chain, not rejections, reports it.
func markReached(ctx context.Context) {
	if call, ok := ctx.Value(reachedKey{}).(*callInfo); ok {
		call.reached.Store(true)
	}
}

func unaryMarkReached(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	markReached(ctx)
	return handler(ctx, req)
}

func streamMarkReached(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	markReached(ss.Context())
	return handler(srv, ss)
}
