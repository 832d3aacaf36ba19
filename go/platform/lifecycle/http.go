package lifecycle

import (
	"log/slog"
	"net/http"
	"time"
)

// NewHTTPServer returns an http.Server for h with timeouts that bound what a
// slow or idle client can hold, logging its errors to log.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
