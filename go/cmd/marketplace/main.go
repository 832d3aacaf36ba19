// Command marketplace serves the Online Books For You web page.
//
// Every flag can also be set by its environment variable: the flag name in
// upper case with _ for - (e.g. -recommendations-host or the seed's
// RECOMMENDATIONS_HOST).
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"time"

	"google.golang.org/grpc/resolver/dns"

	"github.com/onlinebooks/bookstore/go/marketplace"
	"github.com/onlinebooks/bookstore/go/platform/cli"
)

func main() {
	// grpc-go resolves a name again at most every 30 s by default, however
	// many connections end. During a rolling update behind a headless
	// Service every pod it knew may be gone well before that; 1 s lets it
	// follow the pods as they are replaced.
	dns.SetMinResolutionInterval(time.Second)

	fs := flag.NewFlagSet("marketplace", flag.ContinueOnError)
	var cfg marketplace.Config
	cfg.RegisterFlags(fs)
	os.Exit(cli.Main(fs, os.Args[1:], os.Stderr, func(ctx context.Context, log *slog.Logger) error {
		return marketplace.Run(ctx, log, cfg)
	}))
}
