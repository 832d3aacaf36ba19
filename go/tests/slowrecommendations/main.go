// Command slowrecommendations is Recommendations with every Recommend call
// delayed: the slow backend of the integration tests' deadline drills. It
// takes the real binary's flags, and -delay.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"

	"github.com/onlinebooks/bookstore/go/platform/cli"
	"github.com/onlinebooks/bookstore/go/recommendations"
	"github.com/onlinebooks/bookstore/go/recommendations/recommendationstest"
)

func main() {
	fs := flag.NewFlagSet("recommendations", flag.ContinueOnError)
	var cfg recommendations.Config
	cfg.RegisterFlags(fs)
	delay := fs.Duration("delay", 0, "how long every Recommend call waits before it answers")
	os.Exit(cli.Main(fs, os.Args[1:], os.Stderr, func(ctx context.Context, log *slog.Logger) error {
		svc := recommendationstest.Slow(recommendations.NewService(recommendations.DefaultCatalog()), *delay)
		return recommendations.Serve(ctx, log, cfg, svc)
	}))
}
