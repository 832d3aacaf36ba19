package recommendations

import (
	"context"
	"math/rand/v2"
	"slices"

	"github.com/onlinebooks/bookstore/go/platform/domainerr"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

const (
	// DefaultMaxResults is used when a request leaves max_results at 0.
	DefaultMaxResults = 3
	// MaxMaxResults bounds max_results, so one request cannot ask the server
	// to build an arbitrarily large response.
	MaxMaxResults = 50
)

// Rand picks random numbers; IntN returns a number in [0, n). It must be safe
// for concurrent use. Tests inject a seeded one to get repeatable results.
type Rand interface {
	IntN(n int) int
}

// globalRand is math/rand/v2's goroutine-safe, randomly seeded generator.
type globalRand struct{}

func (globalRand) IntN(n int) int { return rand.IntN(n) }

// Service implements RecommendationsService over a Catalog.
type Service struct {
	pb.UnimplementedRecommendationsServiceServer
	catalog *Catalog
	rand    Rand
}

// Option configures a Service.
type Option func(*Service)

// WithRand makes the Service choose books with r instead of a randomly seeded
// generator.
func WithRand(r Rand) Option { return func(s *Service) { s.rand = r } }

// NewService returns a Service that recommends from catalog.
func NewService(catalog *Catalog, opts ...Option) *Service {
	s := &Service{catalog: catalog, rand: globalRand{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Recommend returns up to max_results distinct books of the requested
// category in random order. Its errors are domain errors (see domainerr).
func (s *Service) Recommend(ctx context.Context, req *pb.RecommendRequest) (*pb.RecommendResponse, error) {
	books, err := s.catalog.Books(req.GetCategory())
	if err != nil {
		return nil, err
	}
	n, err := resultCount(req.GetMaxResults())
	if err != nil {
		return nil, err
	}
	return &pb.RecommendResponse{Books: sample(books, n, s.rand)}, nil
}

// resultCount applies the max_results rules documented in the proto.
func resultCount(maxResults int32) (int, error) {
	switch {
	case maxResults == 0:
		return DefaultMaxResults, nil
	case maxResults < 0:
		return 0, domainerr.InvalidArgument("max_results", "must not be negative, got %d", maxResults)
	case maxResults > MaxMaxResults:
		return 0, domainerr.InvalidArgument("max_results", "must be at most %d, got %d", MaxMaxResults, maxResults)
	}
	return int(maxResults), nil
}

// sample returns min(n, len(books)) distinct books in uniformly random order.
// Robert Floyd's algorithm draws the distinct positions without copying the
// category, then the positions are shuffled, as Floyd's set has a biased order.
func sample(books []*pb.Book, n int, r Rand) []*pb.Book {
	n = min(n, len(books))
	picked := make([]int, 0, n)
	for j := len(books) - n; j < len(books); j++ {
		t := r.IntN(j + 1)
		if slices.Contains(picked, t) {
			t = j
		}
		picked = append(picked, t)
	}
	out := make([]*pb.Book, n)
	for i := n - 1; i >= 0; i-- {
		k := r.IntN(i + 1)
		picked[i], picked[k] = picked[k], picked[i]
		out[i] = books[picked[i]]
	}
	return out
}
