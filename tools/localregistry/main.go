// Command localregistry serves go-containerregistry's in-memory registry, the
// local registry that tools/registry starts for the images' push targets.
// What is pushed lasts as long as the process.
package main

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/onlinebooks/bookstore/go/cli"
	"github.com/onlinebooks/bookstore/go/lifecycle"
)

func main() {
	fs := flag.NewFlagSet("localregistry", flag.ContinueOnError)
	addr := fs.String("address", "127.0.0.1:5000", "address to serve the registry on")
	os.Exit(cli.Main(fs, os.Args[1:], os.Stderr, func(ctx context.Context, log *slog.Logger) error {
		lis, err := net.Listen("tcp", *addr)
		if err != nil {
			return err
		}
		// No read or write timeout: a layer upload or pull may take long.
		srv := &http.Server{
			Handler:           registry.New(registry.Logger(slog.NewLogLogger(log.Handler(), slog.LevelInfo))),
			ReadHeaderTimeout: 5 * time.Second,
		}
		return lifecycle.ServeHTTP(ctx, log, srv, lis, 5*time.Second)
	}))
}
