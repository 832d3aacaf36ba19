// Package domainerr lets handlers return plain Go errors and turns them into
// gRPC statuses in one place: the Go counterpart of grpc-interceptor's
// ExceptionToStatusInterceptor.
//
// Handlers wrap or return the sentinel errors below (errors.Is matches them
// through any wrapping) or an *InvalidArgumentError; UnaryServerInterceptor
// (and StreamServerInterceptor)
// maps them to NOT_FOUND and INVALID_ARGUMENT with the error's own message.
// Any other error becomes INTERNAL with a fixed message, so a handler's
// internals never reach a client.
package domainerr

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrNotFound marks a request for something that does not exist.
var ErrNotFound = errors.New("not found")

// InternalMessage is what a client sees for an error that is not a domain error.
const InternalMessage = "internal error"

// InvalidArgumentError says which request field is wrong and why.
type InvalidArgumentError struct {
	Field  string
	Reason string
}

func (e *InvalidArgumentError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// InvalidArgument returns an *InvalidArgumentError for field.
func InvalidArgument(field, format string, args ...any) error {
	return &InvalidArgumentError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// NotFound returns an error that wraps ErrNotFound with a message for clients.
func NotFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrNotFound)
}

// Status maps err to the status a client should see. Errors that already
// carry a status (from a nested call or a deadline) keep it.
func Status(err error) *status.Status {
	var invalid *InvalidArgumentError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &invalid):
		return status.New(codes.InvalidArgument, invalid.Error())
	case errors.Is(err, ErrNotFound):
		return status.New(codes.NotFound, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, context.DeadlineExceeded.Error())
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, context.Canceled.Error())
	}
	if s, ok := status.FromError(err); ok {
		return s
	}
	return status.New(codes.Internal, InternalMessage)
}

// UnaryServerInterceptor converts the errors handlers return with Status.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, Status(err).Err()
		}
		return resp, nil
	}
}

// StreamServerInterceptor converts the errors stream handlers return with
// Status, as UnaryServerInterceptor does for unary calls.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := handler(srv, ss); err != nil {
			return Status(err).Err()
		}
		return nil
	}
}
