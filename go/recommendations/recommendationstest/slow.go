// Package recommendationstest holds Recommendations variants for tests and
// the benchmark: a slow backend, to rehearse deadlines and degraded pages.
package recommendationstest

import (
	"context"
	"time"

	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// Slow delays every Recommend call of svc by delay, honouring the call's
// deadline: a call whose deadline comes first ends with the context's error.
func Slow(svc pb.RecommendationsServiceServer, delay time.Duration) pb.RecommendationsServiceServer {
	return slow{svc, delay}
}

type slow struct {
	pb.RecommendationsServiceServer
	delay time.Duration
}

func (s slow) Recommend(ctx context.Context, req *pb.RecommendRequest) (*pb.RecommendResponse, error) {
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return s.RecommendationsServiceServer.Recommend(ctx, req)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
