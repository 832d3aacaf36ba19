package recommendationstest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/onlinebooks/bookstore/go/recommendations"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

func TestSlow(t *testing.T) {
	tests := []struct {
		name         string
		delay, limit time.Duration
		wantErr      error
	}{
		{"the deadline first", time.Hour, 10 * time.Millisecond, context.DeadlineExceeded},
		{"the delay first", 10 * time.Millisecond, time.Minute, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := Slow(recommendations.NewService(recommendations.DefaultCatalog()), tt.delay)
			ctx, cancel := context.WithTimeout(context.Background(), tt.limit)
			defer cancel()
			start := time.Now()
			resp, err := svc.Recommend(ctx, &pb.RecommendRequest{Category: pb.BookCategory_BOOK_CATEGORY_MYSTERY})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if elapsed := time.Since(start); elapsed < min(tt.delay, tt.limit) {
				t.Errorf("answered after %s, before the %s it must wait", elapsed, min(tt.delay, tt.limit))
			}
			if err == nil && len(resp.GetBooks()) != 3 {
				t.Errorf("got %d books, want 3", len(resp.GetBooks()))
			}
		})
	}
}
