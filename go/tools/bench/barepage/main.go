// Command barepage is the benchmark's bare page: what Marketplace's
// homepage does at its core (one Recommend call, the books in an
// html/template page) on net/http and a plain grpc-go client, with nothing
// else: no interceptors, metrics, access log, headers, limits or query
// validation. //go/cmd/bench measures the real page against it. It is not
// shipped.
//
// With -refuse it answers every request with a 503 and Retry-After at once,
// calling nothing: the cheapest refusal net/http can make, which the
// overload run offers Marketplace's highest load to, to show what any
// in-process refusal could do within the same limits.
package main

import (
	"context"
	"flag"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/onlinebooks/bookstore/go/platform/cli"
	"github.com/onlinebooks/bookstore/go/platform/lifecycle"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// page is the markup of Marketplace's mystery page, byte for byte (the
// benchmark's test compares the two), so that the two pages differ in how
// they are made, not in what they send: here the one category's
// navigation is literal text, and only the books are template actions.
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Online Books For You</title>
  <link rel="stylesheet" href="/style.css">
</head>
<body>
  <header>
    <p>Online Books For You</p>
    <nav aria-label="Categories">
      <a href="/?category=mystery" aria-current="page">Mystery</a>
      <a href="/?category=science-fiction">Science fiction</a>
      <a href="/?category=self-help">Self-help</a>
    </nav>
  </header>
  <main>
    <h1>Mystery books you may like</h1>
    <ul id="recommendations">
      {{- range .}}
      <li>{{.Title}}{{with .Author}} <span class="author">by {{.}}</span>{{end}}</li>
      {{- end}}
    </ul>
  </main>
</body>
</html>
`))

func main() {
	fs := flag.NewFlagSet("barepage", flag.ContinueOnError)
	addr := fs.String("http-addr", "127.0.0.1:0", "address of the page")
	target := fs.String("recommendations-host", "127.0.0.1:50051", "host:port of Recommendations")
	refuse := fs.Bool("refuse", false, "answer every request with a 503 at once, calling nothing")
	os.Exit(cli.Main(fs, os.Args[1:], os.Stderr, func(ctx context.Context, log *slog.Logger) error {
		lis, err := net.Listen("tcp", *addr)
		if err != nil {
			return err
		}
		serve := func(h http.Handler) error {
			return lifecycle.ServeHTTP(ctx, log.With("listener", "page"), &http.Server{Handler: h}, lis, 5*time.Second)
		}
		if *refuse {
			busy := []byte("busy\n")
			return serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write(busy)
			}))
		}
		conn, err := grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		recs := pb.NewRecommendationsServiceClient(conn)
		mux := http.NewServeMux()
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			resp, err := recs.Recommend(ctx, &pb.RecommendRequest{Category: pb.BookCategory_BOOK_CATEGORY_MYSTERY, MaxResults: 3})
			if err != nil {
				http.Error(w, "recommendations unavailable", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			page.Execute(w, resp.GetBooks())
		})
		return serve(mux)
	}))
}
