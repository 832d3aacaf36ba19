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
	"strings"
	"time"

	"github.com/onlinebooks/bookstore/go/cli"
	"github.com/onlinebooks/bookstore/go/recommendations"
	"github.com/onlinebooks/bookstore/go/tlsconfig"
)

func main() {
	fs := flag.NewFlagSet("recommendations", flag.ContinueOnError)
	var cfg recommendations.Config
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", ":50051", "address of the gRPC API")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", ":50052", "address of the admin port: /metrics")
	fs.StringVar(&cfg.CatalogPath, "catalog", "", "catalogue JSON file to serve (default: the embedded catalogue)")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", 10*time.Second, "how long in-flight calls may finish after SIGTERM")
	fs.DurationVar(&cfg.MaxConnectionAge, "max-connection-age", 5*time.Minute, "close each client connection after this long, so clients rebalance over replicas (0: never)")
	fs.DurationVar(&cfg.ExtraLatency, "extra-latency", 0, "delay every Recommend call by this much (fault drills)")
	fs.BoolVar(&cfg.WithoutInterceptors, "without-interceptors", false, "serve without metrics, logs, recovery and error mapping (benchmarks of their cost only)")
	fs.StringVar(&cfg.OTLPEndpoint, "otel-exporter-otlp-endpoint", "", "OTLP/HTTP endpoint to export traces to, e.g. http://collector:4318 (default: tracing off)")
	cfg.TLSMode = tlsconfig.Plaintext
	fs.TextVar(&cfg.TLSMode, "tls-mode", cfg.TLSMode, "security of the gRPC API: plaintext, tls or mtls (client certificates required)")
	fs.StringVar(&cfg.TLS.Cert, "tls-cert", "", "server certificate (PEM), re-read when it changes")
	fs.StringVar(&cfg.TLS.Key, "tls-key", "", "server private key (PEM), re-read when it changes")
	fs.StringVar(&cfg.TLS.CA, "tls-client-ca", "", "CA of client certificates (PEM), for mtls")
	cfg.AllowedClients = []string{"marketplace"}
	fs.Func("allowed-clients", "comma-separated client identities served under mtls (default marketplace)", func(s string) error {
		cfg.AllowedClients = strings.Split(s, ",")
		return nil
	})
	os.Exit(cli.Main(fs, os.Args[1:], os.Stderr, func(ctx context.Context, log *slog.Logger) error {
		return recommendations.Run(ctx, log, cfg)
	}))
}
