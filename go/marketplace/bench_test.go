package marketplace

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/onlinebooks/bookstore/go/recommendations"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// fixedBooks answers every Recommend with the same books, so the benchmarks
// below measure the page, not Recommendations.
type fixedBooks struct{ resp *pb.RecommendResponse }

func (f fixedBooks) Recommend(context.Context, *pb.RecommendRequest, ...grpc.CallOption) (*pb.RecommendResponse, error) {
	return f.resp, nil
}

// benchBooks are three books of the catalogue.
func benchBooks(tb testing.TB) *pb.RecommendResponse {
	books, err := recommendations.DefaultCatalog().Books(pb.BookCategory_BOOK_CATEGORY_MYSTERY)
	if err != nil {
		tb.Fatal(err)
	}
	return &pb.RecommendResponse{Books: books[:BooksPerPage]}
}

// BenchmarkRender measures rendering the homepage template alone.
//
//	tools/bazel run //go/marketplace:marketplace_test -- -test.run='^$' -test.bench=. -test.benchmem
func BenchmarkRender(b *testing.B) {
	data := homepageData{Top: tops[categories[0].Value], Books: benchBooks(b).GetBooks()}
	log := slog.New(slog.DiscardHandler)
	b.ReportAllocs()
	for b.Loop() {
		render(discardResponse{make(http.Header)}, log, http.StatusOK, "homepage.html", data)
	}
}

// BenchmarkHomepage measures the page handler: query parsing, the call
// (answered at once) and rendering.
func BenchmarkHomepage(b *testing.B) {
	h := &Homepage{Client: fixedBooks{benchBooks(b)}, Log: slog.New(slog.DiscardHandler), Degraded: prometheus.NewCounter(prometheus.CounterOpts{Name: "degraded"})}
	req := httptest.NewRequest(http.MethodGet, "/?category=mystery", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(discardResponse{make(http.Header)}, req)
	}
}

// discardResponse is a ResponseWriter that keeps nothing, so the benchmarks
// do not measure a recorder's buffer.
type discardResponse struct{ h http.Header }

func (d discardResponse) Header() http.Header         { return d.h }
func (d discardResponse) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (d discardResponse) WriteHeader(int)             {}
