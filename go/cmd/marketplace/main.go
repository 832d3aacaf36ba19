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

	"github.com/onlinebooks/bookstore/go/cli"
	"github.com/onlinebooks/bookstore/go/marketplace"
	"github.com/onlinebooks/bookstore/go/tlsconfig"
)

func main() {
	// grpc-go resolves a name again at most every 30 s by default, however
	// many connections end. During a rolling update behind a headless
	// Service every pod it knew may be gone well before that; 1 s lets it
	// follow the pods as they are replaced.
	dns.SetMinResolutionInterval(time.Second)

	fs := flag.NewFlagSet("marketplace", flag.ContinueOnError)
	var cfg marketplace.Config
	fs.StringVar(&cfg.HTTPAddr, "http-addr", ":5000", "address of the web page")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", ":5001", "address of the admin port: /metrics")
	fs.StringVar(&cfg.RecommendationsHost, "recommendations-host", "localhost", "Recommendations as host, host:port (default port 50051) or gRPC target URI")
	fs.DurationVar(&cfg.RecommendationsTimeout, "recommendations-timeout", 500*time.Millisecond, "deadline of each call to Recommendations")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", 10*time.Second, "how long in-flight requests may finish after SIGTERM")
	fs.StringVar(&cfg.OTLPEndpoint, "otel-exporter-otlp-endpoint", "", "OTLP/HTTP endpoint to export traces to, e.g. http://collector:4318 (default: tracing off)")
	cfg.TLSMode = tlsconfig.Plaintext
	fs.TextVar(&cfg.TLSMode, "tls-mode", cfg.TLSMode, "security of the calls to Recommendations: plaintext, tls or mtls (present a client certificate)")
	fs.StringVar(&cfg.TLS.CA, "tls-ca", "", "CA of Recommendations' certificate (PEM), for tls and mtls")
	fs.StringVar(&cfg.TLS.Cert, "tls-cert", "", "client certificate (PEM) for mtls, re-read when it changes")
	fs.StringVar(&cfg.TLS.Key, "tls-key", "", "client private key (PEM) for mtls, re-read when it changes")
	fs.StringVar(&cfg.TLSServerName, "tls-server-name", "", "name Recommendations' certificate must carry (default: the host of -recommendations-host)")
	os.Exit(cli.Main(fs, os.Args[1:], os.Stderr, func(ctx context.Context, log *slog.Logger) error {
		return marketplace.Run(ctx, log, cfg)
	}))
}
