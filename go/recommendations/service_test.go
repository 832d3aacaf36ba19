package recommendations

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/onlinebooks/bookstore/go/platform/domainerr"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// seededRand is a deterministic Rand, safe for concurrent use.
type seededRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newSeededRand(seed uint64) *seededRand {
	return &seededRand{r: rand.New(rand.NewPCG(seed, seed))}
}

func (s *seededRand) IntN(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.IntN(n)
}

const (
	mystery = pb.BookCategory_BOOK_CATEGORY_MYSTERY
	scifi   = pb.BookCategory_BOOK_CATEGORY_SCIENCE_FICTION
)

func TestRecommend_Validation(t *testing.T) {
	tests := []struct {
		name        string
		req         *pb.RecommendRequest
		wantCode    codes.Code
		wantMessage string
	}{
		{"unset category", &pb.RecommendRequest{MaxResults: 1}, codes.InvalidArgument, "invalid category: must be set"},
		{"unknown category", &pb.RecommendRequest{Category: 42}, codes.NotFound, "category 42: not found"},
		{"negative max_results", &pb.RecommendRequest{Category: mystery, MaxResults: -1}, codes.InvalidArgument, "invalid max_results: must not be negative, got -1"},
		{"max_results above maximum", &pb.RecommendRequest{Category: mystery, MaxResults: MaxMaxResults + 1}, codes.InvalidArgument, "invalid max_results: must be at most 50, got 51"},
		{"unset category wins over bad max_results", &pb.RecommendRequest{MaxResults: -1}, codes.InvalidArgument, "invalid category: must be set"},
		{"unknown category wins over bad max_results", &pb.RecommendRequest{Category: 42, MaxResults: -1}, codes.NotFound, "category 42: not found"},
	}
	svc := NewService(DefaultCatalog(), WithRand(newSeededRand(1)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := svc.Recommend(context.Background(), tt.req)
			if resp != nil {
				t.Errorf("got a response %v, want none", resp)
			}
			s := domainerr.Status(err)
			if got, want := s.Code(), tt.wantCode; got != want {
				t.Errorf("code: got %s, want %s", got, want)
			}
			if got, want := s.Message(), tt.wantMessage; got != want {
				t.Errorf("message: got %q, want %q", got, want)
			}
		})
	}
}

func TestRecommend_Count(t *testing.T) {
	categorySize := 8 // books per category in catalog.json
	tests := []struct {
		name       string
		maxResults int32
		want       int
	}{
		{"zero means the default", 0, DefaultMaxResults},
		{"one", 1, 1},
		{"all of the category", int32(categorySize), categorySize},
		{"more than the category holds", MaxMaxResults, categorySize},
	}
	svc := NewService(DefaultCatalog(), WithRand(newSeededRand(2)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := svc.Recommend(context.Background(), &pb.RecommendRequest{Category: scifi, MaxResults: tt.maxResults})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(resp.GetBooks()), tt.want; got != want {
				t.Errorf("got %d books, want %d", got, want)
			}
		})
	}
}

func TestRecommend_DistinctBooksOfTheCategory(t *testing.T) {
	svc := NewService(DefaultCatalog(), WithRand(newSeededRand(3)))
	seen := map[int64]bool{}
	for range 200 {
		resp, err := svc.Recommend(context.Background(), &pb.RecommendRequest{Category: mystery, MaxResults: 5})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[int64]bool{}
		for _, b := range resp.GetBooks() {
			if ids[b.GetId()] {
				t.Fatalf("book %d recommended twice in %v", b.GetId(), resp.GetBooks())
			}
			ids[b.GetId()] = true
			seen[b.GetId()] = true
			if got, want := b.GetCategory(), mystery; got != want {
				t.Errorf("%q is %s, want %s", b.GetTitle(), got, want)
			}
		}
	}
	if got, want := len(seen), 8; got != want {
		t.Errorf("200 draws of 5 recommended %d different books, want all %d", got, want)
	}
}

func TestRecommend_SameSeedSameBooks(t *testing.T) {
	titles := func(seed uint64) string {
		svc := NewService(DefaultCatalog(), WithRand(newSeededRand(seed)))
		var all []string
		for range 5 {
			resp, err := svc.Recommend(context.Background(), &pb.RecommendRequest{Category: scifi})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range resp.GetBooks() {
				all = append(all, b.GetTitle())
			}
		}
		return strings.Join(all, "|")
	}
	if a, b := titles(7), titles(7); a != b {
		t.Errorf("same seed, different books:\n%s\n%s", a, b)
	}
	if a, b := titles(7), titles(8); a == b {
		t.Errorf("different seeds gave the same 15 books: %s", a)
	}
}

func TestSample_EveryPositionIsUniform(t *testing.T) {
	// Floyd's algorithm alone puts the last book last far too often; the
	// shuffle must even that out. Count where book 0 lands among 4 of 4.
	books := DefaultCatalog().byCategory[mystery][:4]
	r := newSeededRand(4)
	const draws = 4000
	var atPosition [4]int
	for range draws {
		for i, b := range sample(books, 4, r) {
			if b == books[0] {
				atPosition[i]++
			}
		}
	}
	for i, n := range atPosition {
		if n < draws/4*8/10 || n > draws/4*12/10 {
			t.Errorf("book 0 at position %d in %d of %d draws, want about %d", i, n, draws, draws/4)
		}
	}
}

func TestRecommend_ConcurrentCallsWithTheDefaultRand(t *testing.T) {
	svc := NewService(DefaultCatalog())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				resp, err := svc.Recommend(context.Background(), &pb.RecommendRequest{Category: mystery, MaxResults: 3})
				if err != nil || len(resp.GetBooks()) != 3 {
					t.Errorf("got (%v, %v), want 3 books", resp, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
