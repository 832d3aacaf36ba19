// Package cli is what the service binaries share around their run function:
// flags with environment fallbacks, a structured logger, and a context that
// ends on SIGTERM or SIGINT.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/peterbourgon/ff/v3"
	"go.uber.org/zap/zapcore"
)

// Main parses args into fs, where every flag may also come from the
// environment variable of the same name in upper case with _ for - (so
// -grpc-addr is GRPC_ADDR; a flag given on the command line wins). It then
// calls run with a JSON logger on stderr, and a context that ends on SIGTERM
// or SIGINT, and returns the process exit code: 0 when run returns nil, 2 for
// bad flags, 1 otherwise.
func Main(fs *flag.FlagSet, args []string, stderr io.Writer, run func(context.Context, *slog.Logger) error) int {
	level := slog.LevelInfo
	fs.TextVar(&level, "log-level", level, "minimum log level: DEBUG, INFO, WARN or ERROR")
	if err := ff.Parse(fs, args, ff.WithEnvVars()); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return 2
	}
	// Records leave in batches (at 256 KiB, or after 100 ms) rather than with
	// a write(2) each: under load, one write per call and the lock around it
	// cost Recommendations up to 30 % of its throughput (docs/performance.md).
	// Stop flushes the rest on the way out; a crash loses at most 100 ms of
	// records, and the runtime writes a panic's trace unbuffered.
	out := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(stderr), Size: 256 << 10, FlushInterval: 100 * time.Millisecond}
	defer out.Stop()
	log := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level})).With("service", fs.Name())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error("exiting", "err", err)
		return 1
	}
	log.Info("exited cleanly")
	return 0
}
