package grpcserver

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// rejections sees the calls that gRPC itself refuses before any
// interceptor runs, which the chain's metrics and logs therefore never see:
// a request that does not decode (INTERNAL), one over the message size
// limit (RESOURCE_EXHAUSTED), an unknown method (UNIMPLEMENTED). It is a
// stats handler, the one hook gRPC calls for them. Each is counted; a
// record is logged at most once a second, so a flood of garbage cannot
// flood the log.
type rejections struct {
	total     *prometheus.CounterVec
	log       *slog.Logger
	sometimes rate.Sometimes
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

// maxLoggedMethod bounds the method name a refusal's record quotes: the
// client chooses it.
const maxLoggedMethod = 128

type callInfo struct {
	reached atomic.Bool
	method  string
}

func (r *rejections) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	method := info.FullMethodName
	if len(method) > maxLoggedMethod {
		method = method[:maxLoggedMethod] + "…"
	}
	return context.WithValue(ctx, reachedKey{}, &callInfo{method: method})
}

func (r *rejections) HandleRPC(ctx context.Context, s stats.RPCStats) {
	end, ok := s.(*stats.End)
	if !ok || end.Error == nil {
		return
	}
	call, _ := ctx.Value(reachedKey{}).(*callInfo)
	if call == nil || call.reached.Load() {
		return // the chain counted and logged it
	}
	st := status.Convert(end.Error)
	r.total.WithLabelValues(st.Code().String()).Inc()
	r.sometimes.Do(func() {
		r.log.WarnContext(ctx, "call refused before its handler (logged at most once a second)",
			"grpc.method", call.method, "grpc.code", st.Code().String(), "grpc.error", st.Message())
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
