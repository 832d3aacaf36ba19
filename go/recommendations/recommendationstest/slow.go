// Package recommendationstest holds Recommendations variants for tests and
// the benchmark: a slow backend, to rehearse deadlines and degraded pages.
package recommendationstest

import (
	"context"
	"time"

	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// Slow holds every answer of svc's Recommend for delay, honouring the
// call's deadline: a call whose deadline comes first ends with the
// context's error. The request is served first, so an invalid one is
// refused at once, as by the real service.
func Slow(svc pb.RecommendationsServiceServer, delay time.Duration) pb.RecommendationsServiceServer {
	return slow{svc, delay}
}

type slow struct {
	pb.RecommendationsServiceServer
	delay time.Duration
}

func (s slow) Recommend(ctx context.Context, req *pb.RecommendRequest) (*pb.RecommendResponse, error) {
	resp, err := s.RecommendationsServiceServer.Recommend(ctx, req)
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return resp, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
