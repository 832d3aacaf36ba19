// Command localregistry serves go-containerregistry's in-memory registry
// with the referrers API (go/tools/ociregistry), the local registry that
// tools/registry starts for the images' push targets and their signatures.
// What is pushed lasts as long as the process.
package main

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/onlinebooks/bookstore/go/platform/cli"
	"github.com/onlinebooks/bookstore/go/platform/lifecycle"
	"github.com/onlinebooks/bookstore/go/tools/ociregistry"
)

func main() {
	fs := flag.NewFlagSet("localregistry", flag.ContinueOnError)
	addrs := fs.String("address", "127.0.0.1:5005", "comma-separated addresses to serve the registry on")
	os.Exit(cli.Main(fs, os.Args[1:], os.Stderr, func(ctx context.Context, log *slog.Logger) error {
		handler := ociregistry.New(slog.NewLogLogger(log.Handler(), slog.LevelInfo))
		var listeners []net.Listener
		for _, addr := range strings.Split(*addrs, ",") {
			lis, err := listen(ctx, addr)
			if err != nil {
				for _, l := range listeners {
					l.Close()
				}
				return err
			}
			listeners = append(listeners, lis)
		}
		g, gctx := errgroup.WithContext(ctx)
		for _, lis := range listeners {
			// No read or write timeout: a layer upload or pull may take long.
			srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
			g.Go(func() error { return lifecycle.ServeHTTP(gctx, log, srv, lis, 5*time.Second) })
		}
		return g.Wait()
	}))
}

// listen binds addr even when its IP is not (yet) on any interface
// (IP_FREEBIND): the local cluster's end of its veth (tools/cluster) comes
// and goes while the registry runs, and nothing can reach the address while
// it is not there.
func listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_FREEBIND, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(ctx, "tcp", addr)
}
