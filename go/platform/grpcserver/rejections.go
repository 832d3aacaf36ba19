package grpcserver

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/platform/bounded"
)

// rejections counts the calls that gRPC itself refuses before any
// interceptor runs, which the chain's metrics and logs therefore never
// see: a request that does not decode (INTERNAL), one over the message
// size limit (RESOURCE_EXHAUSTED), an unknown method (UNIMPLEMENTED). A
// record is logged at most once a second, so a flood of garbage cannot
// flood the log.
//
// It sees them where they happen, at no cost to the calls that go well:
// around each unary method's decoding (registrar), which gRPC runs before
// the chain, and as the handler of unknown methods (unknownMethod). A
// stats handler would see them too, but gRPC then copies every call's
// metadata and reports seven events of it: the copy alone was 9 % of the
// server's CPU under load in a profile. A stream's first message is read
// inside the chain, whose metrics and logs report its failure like any
// other.
type rejections struct {
	total     *prometheus.CounterVec
	log       *slog.Logger
	sometimes rate.Sometimes
}

// rejectedCodes are the codes a refusal before the handler has: their
// series exist, at zero, from the start. A decoding that fails otherwise
// (the client cancelled while its request was still arriving, the drain
// at shutdown cut it off) is not a refusal.
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

// maxLogged bounds what a refusal's record quotes of the method name and
// the error: the client chooses the first, and the second may quote its
// headers.
const maxLogged = 128

func (r *rejections) refused(ctx context.Context, method string, st *status.Status) {
	r.total.WithLabelValues(st.Code().String()).Inc()
	r.sometimes.Do(func() {
		r.log.WarnContext(ctx, "call refused before its handler (logged at most once a second)",
			"grpc.method", bounded.Excerpt(method, maxLogged), "grpc.code", st.Code().String(), "grpc.error", bounded.Excerpt(st.Message(), maxLogged))
	})
}

// decoded wraps a unary method's handler so that a request it cannot
// decode is counted as refused.
func (r *rejections) decoded(h grpc.MethodHandler) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		return h(srv, ctx, func(req any) error {
			err := dec(req)
			if st := status.Convert(err); err != nil && slices.Contains(rejectedCodes, st.Code()) {
				method, _ := grpc.Method(ctx)
				r.refused(ctx, method, st)
			}
			return err
		}, interceptor)
	}
}

// unknownMethod answers a method the server does not serve, as gRPC does
// (UNIMPLEMENTED), and counts it.
func (r *rejections) unknownMethod(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	st := status.New(codes.Unimplemented, "unknown method "+bounded.Excerpt(method, maxLogged))
	r.refused(stream.Context(), method, st)
	return st.Err()
}

// Registrar is what New's register function registers services with: a
// server (for gRPC's reflection too) whose unary methods count the
// requests that do not decode (rejections).
type Registrar interface {
	grpc.ServiceRegistrar
	GetServiceInfo() map[string]grpc.ServiceInfo
}

type registrar struct {
	*grpc.Server
	rejected *rejections
}

func (g registrar) RegisterService(desc *grpc.ServiceDesc, impl any) {
	wrapped := *desc
	wrapped.Methods = make([]grpc.MethodDesc, len(desc.Methods))
	for i, m := range desc.Methods {
		wrapped.Methods[i] = grpc.MethodDesc{MethodName: m.MethodName, Handler: g.rejected.decoded(m.Handler)}
	}
	g.Server.RegisterService(&wrapped, impl)
}
