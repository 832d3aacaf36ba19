// Command loadgen sends bounded load to Recommendations or to the page, on
// loopback, and prints throughput, latency percentiles and outcomes:
//
//	bazel run //go/cmd/loadgen -- -mode=rpc -target=127.0.0.1:50051 -concurrency=16 -duration=10s
//	bazel run //go/cmd/loadgen -- -mode=page -target=http://127.0.0.1:8080/ -rate=500 -duration=10s
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"google.golang.org/grpc"

	"github.com/onlinebooks/bookstore/go/marketplace"
	"github.com/onlinebooks/bookstore/go/platform/cli"
	"github.com/onlinebooks/bookstore/go/platform/tlsconfig"
	"github.com/onlinebooks/bookstore/go/recommendations/client"
	"github.com/onlinebooks/bookstore/go/tools/loadgen"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

func main() {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	mode := fs.String("mode", "rpc", "what to load: rpc (Recommend) or page (GET a URL)")
	target := fs.String("target", "127.0.0.1:50051", "host:port of Recommendations (rpc), or the page's URL (page); loopback only")
	var cfg loadgen.Config
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, fmt.Sprintf("requests in flight at most (rpc: the client sends at most %d at once and refuses the rest, RESOURCE_EXHAUSTED)", client.MaxInFlight))
	fs.Float64Var(&cfg.Rate, "rate", 0, "requests per second (open loop); 0: back to back on every worker (closed loop)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, fmt.Sprintf("how long to send, at most %s", loadgen.MaxDuration))
	timeout := fs.Duration("timeout", 2*time.Second, "deadline of each request")
	category := fs.Int("category", int(pb.BookCategory_BOOK_CATEGORY_MYSTERY), "rpc: the request's category number")
	maxResults := fs.Int("max-results", 3, "rpc: the request's max_results")
	marker := fs.String("degraded-marker", marketplace.UnavailableNotice, "page: text of a page served without recommendations")
	var security tlsconfig.Client // rpc only
	security.RegisterFlags(fs, false)
	os.Exit(cli.Main(fs, os.Args[1:], os.Stderr, func(ctx context.Context, _ *slog.Logger) error {
		if err := loadgen.CheckLoopback(*target); err != nil {
			return err
		}
		var op loadgen.Op
		switch *mode {
		case "rpc":
			opts, closeTLS, err := security.DialOptions()
			if err != nil {
				return err
			}
			defer closeTLS()
			// Retries off: every UNAVAILABLE is an outcome to count.
			conn, err := client.Dial(*target, append(opts, grpc.WithDisableRetry())...)
			if err != nil {
				return err
			}
			defer conn.Close()
			req := &pb.RecommendRequest{Category: pb.BookCategory(*category), MaxResults: int32(*maxResults)}
			op = loadgen.RecommendOp(pb.NewRecommendationsServiceClient(conn), req, *timeout)
		case "page":
			op = loadgen.PageOp(loadgen.HTTPClient(cfg.Concurrency), *target, []byte(*marker), *timeout)
		default:
			return fmt.Errorf("-mode=%q: want rpc or page", *mode)
		}
		r, err := loadgen.Run(ctx, cfg, op)
		if err != nil {
			return err
		}
		fmt.Printf("loadgen %s %s, concurrency %d, rate %g/s (0: closed loop), duration %s\n", *mode, *target, cfg.Concurrency, cfg.Rate, cfg.Duration)
		r.Report(os.Stdout)
		return nil
	}))
}
