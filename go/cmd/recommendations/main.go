// Command recommendations serves the Recommendations gRPC API.
//
// Every flag can also be set by its environment variable: the flag name in
// upper case with _ for - (e.g. -grpc-addr or GRPC_ADDR).
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"

	"github.com/onlinebooks/bookstore/go/platform/cli"
	"github.com/onlinebooks/bookstore/go/recommendations"
)

func main() {
	fs := flag.NewFlagSet("recommendations", flag.ContinueOnError)
	var cfg recommendations.Config
	cfg.RegisterFlags(fs)
	os.Exit(cli.Main(fs, os.Args[1:], os.Stderr, func(ctx context.Context, log *slog.Logger) error {
		return recommendations.Run(ctx, log, cfg)
	}))
}
