package domainerr

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode codes.Code
		wantMsg  string
	}{
		{"invalid argument", InvalidArgument("max_results", "must be at most %d", 50), codes.InvalidArgument, "invalid max_results: must be at most 50"},
		{"wrapped invalid argument", fmt.Errorf("recommend: %w", InvalidArgument("category", "must be set")), codes.InvalidArgument, "invalid category: must be set"},
		{"not found", NotFound("category %d", 42), codes.NotFound, "category 42: not found"},
		{"wrapped not found", fmt.Errorf("lookup: %w", NotFound("book")), codes.NotFound, "lookup: book: not found"},
		{"deadline", fmt.Errorf("sleep: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "context deadline exceeded"},
		{"canceled", context.Canceled, codes.Canceled, "context canceled"},
		{"existing status", status.Error(codes.Unavailable, "backend down"), codes.Unavailable, "backend down"},
		{"unknown error hides its text", errors.New("open /etc/secret: permission denied"), codes.Internal, InternalMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Status(tt.err)
			if got, want := s.Code(), tt.wantCode; got != want {
				t.Errorf("code: got %s, want %s", got, want)
			}
			if got, want := s.Message(), tt.wantMsg; got != want {
				t.Errorf("message: got %q, want %q", got, want)
			}
		})
	}
}

func TestStatus_NilIsNil(t *testing.T) {
	if got := Status(nil); got != nil {
		t.Errorf("Status(nil) = %v, want nil", got)
	}
}
