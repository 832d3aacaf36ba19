package recommendations

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/onlinebooks/bookstore/go/platform/domainerr"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// FuzzRecommend sends any category and max_results. Whatever comes in, the
// answer is books that obey the request, or INVALID_ARGUMENT or NOT_FOUND;
// never a panic, never INTERNAL. The seeds run in every `bazel test`;
// //go/recommendations:fuzz_test fuzzes for a while.
func FuzzRecommend(f *testing.F) {
	for _, seed := range []struct{ category, maxResults int32 }{
		{1, 0}, {2, 3}, {3, 50}, {1, 51}, {1, -1}, {0, 3}, {99, 3}, {-5, 1 << 30}, {2, -1 << 31},
	} {
		f.Add(seed.category, seed.maxResults)
	}
	svc := NewService(DefaultCatalog())
	f.Fuzz(func(t *testing.T, category, maxResults int32) {
		req := &pb.RecommendRequest{Category: pb.BookCategory(category), MaxResults: maxResults}
		resp, err := svc.Recommend(context.Background(), req)
		if err != nil {
			if got := domainerr.Status(err).Code(); got != codes.InvalidArgument && got != codes.NotFound {
				t.Fatalf("%v: %s (%v), want INVALID_ARGUMENT or NOT_FOUND", req, got, err)
			}
			return
		}
		want := int(maxResults)
		if maxResults == 0 {
			want = DefaultMaxResults
		}
		books := resp.GetBooks()
		if len(books) == 0 || len(books) > want {
			t.Fatalf("%v: %d books, want 1 to %d", req, len(books), want)
		}
		seen := map[int64]bool{}
		for _, b := range books {
			if b.GetCategory() != req.GetCategory() || seen[b.GetId()] {
				t.Fatalf("%v: book %v is of another category or twice in %v", req, b, books)
			}
			seen[b.GetId()] = true
		}
	})
}
