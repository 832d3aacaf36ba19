package grpcserver

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// This is written here rather than taken from go-grpc-middleware's logging
// interceptor, which allocates about 47 times per call (it formats a start
// time and builds field lists before it knows whether the record is wanted):
// measured, that was most of the chain's cost. This one asks slog first and
// builds one record. Durations are integer microseconds: slog's JSON handler
// encodes floats through encoding/json, which alone cost a quarter of a call.

// CodeToLevel logs successes at DEBUG, errors the caller made at WARN, and
// errors of the server or its dependencies at ERROR. At the default level,
// INFO, a successful call writes nothing: a record per call was most of
// what a service wrote (195 MB in one benchmark run) and says nothing the
// metrics do not; -log-level=DEBUG brings them back.
func CodeToLevel(code codes.Code) slog.Level {
	switch code {
	case codes.OK:
		return slog.LevelDebug
	case codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied,
		codes.Unauthenticated, codes.FailedPrecondition, codes.OutOfRange, codes.ResourceExhausted, codes.Aborted,
		codes.DeadlineExceeded:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// unaryLogging and streamLogging log every call but health checks: probes
// call them every few seconds, and their records would bury the rest.
func unaryLogging(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if strings.HasPrefix(info.FullMethod, healthPrefix) {
			return handler(ctx, req)
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		logCall(ctx, log, info.FullMethod, start, err)
		return resp, err
	}
}

func streamLogging(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if strings.HasPrefix(info.FullMethod, healthPrefix) {
			return handler(srv, ss)
		}
		start := time.Now()
		err := handler(srv, ss)
		logCall(ss.Context(), log, info.FullMethod, start, err)
		return err
	}
}

// logCall writes the record of one finished call: service, method, code,
// duration, peer, the error's message and the trace ID when there are any.
func logCall(ctx context.Context, log *slog.Logger, fullMethod string, start time.Time, err error) {
	if err == nil && !log.Enabled(ctx, slog.LevelDebug) {
		return // a success, at the default level: no record, and nothing to build
	}
	s := status.Convert(err)
	level := CodeToLevel(s.Code())
	if !log.Enabled(ctx, level) {
		return
	}
	service, method := fullMethod, ""
	if i := strings.LastIndexByte(fullMethod, '/'); i > 0 {
		service, method = fullMethod[1:i], fullMethod[i+1:]
	}
	// A record with no caller PC: Logger.Log would walk the stack for one on
	// every call, and the source line of this function tells nobody anything.
	r := slog.NewRecord(time.Now(), level, "finished call", 0)
	r.AddAttrs(
		slog.String("grpc.service", service),
		slog.String("grpc.method", method),
		slog.String("grpc.code", s.Code().String()),
		slog.Int64("grpc.time_us", time.Since(start).Microseconds()),
	)
	if p, ok := peer.FromContext(ctx); ok {
		r.AddAttrs(slog.String("peer.address", p.Addr.String()))
	}
	if err != nil {
		r.AddAttrs(slog.String("grpc.error", s.Message()))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
	}
	_ = log.Handler().Handle(ctx, r) // as Logger.Log does, a failed write is not the call's failure
}
