// Command bareserver is the benchmark's reference: the Recommendations
// service on a plain grpc.Server, with none of the shipped server's
// interceptors (metrics, logs, recovery, error mapping), so that
// //go/cmd/bench can show what they cost. It is not shipped.
package main

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"

	"github.com/onlinebooks/bookstore/go/platform/cli"
	"github.com/onlinebooks/bookstore/go/platform/lifecycle"
	"github.com/onlinebooks/bookstore/go/recommendations"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

func main() {
	fs := flag.NewFlagSet("bareserver", flag.ContinueOnError)
	addr := fs.String("grpc-addr", "127.0.0.1:0", "address of the gRPC API")
	os.Exit(cli.Main(fs, os.Args[1:], os.Stderr, func(ctx context.Context, log *slog.Logger) error {
		lis, err := net.Listen("tcp", *addr)
		if err != nil {
			return err
		}
		// The shipped server's connection settings, so only the chain differs.
		srv := grpc.NewServer(
			recommendations.MaxConnectionAge(recommendations.DefaultMaxConnectionAge, 5*time.Second),
			grpc.KeepaliveEnforcementPolicy(recommendations.KeepaliveEnforcement))
		pb.RegisterRecommendationsServiceServer(srv, recommendations.NewService(recommendations.DefaultCatalog()))
		return lifecycle.ServeGRPC(ctx, log.With("listener", "api"), srv, lis, nil, 5*time.Second)
	}))
}
