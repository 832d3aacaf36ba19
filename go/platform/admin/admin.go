// Package admin serves a service's admin port: what operators and probes
// read, kept off the public port and always in plaintext, because
// Kubernetes' probes cannot present a client certificate.
package admin

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/onlinebooks/bookstore/go/platform/lifecycle"
)

// Handler serves GET /metrics from g in Prometheus' text format, and gRPC
// calls with grpcServer when it is not nil (a server holding the health
// service, for gRPC probes).
func Handler(g prometheus.Gatherer, grpcServer http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	if grpcServer == nil {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			grpcServer.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// NewServer returns the admin port's server for h: HTTP/1.1, and HTTP/2
// without TLS (prior knowledge, as gRPC clients and probes speak it).
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	srv := lifecycle.NewHTTPServer(h, log)
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	return srv
}
