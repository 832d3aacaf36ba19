// Command bench measures both services side by side on this machine and
// prints the Markdown tables of docs/performance.md, and writes its plots:
//
//	tools/bazel run //go/cmd/bench -- -plots=docs/performance
//
// Its flags name the binaries, certificates and images by runfiles path;
// BUILD.bazel passes the built ones.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bazelbuild/rules_go/go/runfiles"

	"github.com/onlinebooks/bookstore/go/platform/cli"
	"github.com/onlinebooks/bookstore/go/tools/bench"
)

func main() {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cfg bench.Config
	files := map[string]*string{
		"recommendations":       &cfg.Recommendations,
		"bare-recommendations":  &cfg.BareRecommendations,
		"bare-page":             &cfg.BarePage,
		"marketplace":           &cfg.Marketplace,
		"ca":                    &cfg.CA,
		"server-cert":           &cfg.ServerCert,
		"server-key":            &cfg.ServerKey,
		"client-cert":           &cfg.ClientCert,
		"client-key":            &cfg.ClientKey,
		"recommendations-image": new(string),
		"marketplace-image":     new(string),
	}
	for name, p := range files {
		fs.StringVar(p, name, "", "runfiles path of the "+strings.ReplaceAll(name, "-", " "))
	}
	fs.Func("concurrency", "comma-separated concurrencies (default 1,16,64)", func(s string) error {
		cfg.Concurrencies = nil
		for _, f := range strings.Split(s, ",") {
			c, err := strconv.Atoi(f)
			if err != nil || c < 1 {
				return fmt.Errorf("concurrency %q: want a positive number", f)
			}
			cfg.Concurrencies = append(cfg.Concurrencies, c)
		}
		return nil
	})
	cfg.Concurrencies = []int{1, 16, 64}
	fs.IntVar(&cfg.Reps, "reps", 3, "repetitions of every cell; the table shows medians")
	fs.DurationVar(&cfg.Duration, "duration", 3*time.Second, "length of each run")
	plots := fs.String("plots", "", "folder to write the SVG plots to, made if missing; a relative one is in the workspace under bazel run (default: no plots)")
	fs.DurationVar(&cfg.OverloadDuration, "overload-duration", 3*time.Second, "length of each run of the overload run (0: leave it out)")
	os.Exit(cli.Main(fs, os.Args[1:], os.Stderr, func(ctx context.Context, _ *slog.Logger) error {
		for name, p := range files {
			path, err := runfiles.Rlocation(*p)
			if err != nil || *p == "" {
				return fmt.Errorf("-%s %q: %v", name, *p, err)
			}
			*p = path
		}
		cfg.Images = map[string]string{"recommendations": *files["recommendations-image"], "marketplace": *files["marketplace-image"]}
		// The plots' folder is made before the minutes of measuring, so a
		// folder that cannot be made fails at once.
		dir := *plots
		if dir != "" {
			if ws := os.Getenv("BUILD_WORKSPACE_DIRECTORY"); ws != "" && !filepath.IsAbs(dir) {
				dir = filepath.Join(ws, dir)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("-plots: %w", err)
			}
		}
		cfg.Progress = os.Stderr
		report, err := bench.Run(ctx, cfg)
		if err != nil {
			return err
		}
		report.Markdown(os.Stdout)
		if dir != "" {
			written, err := report.Plots(dir)
			if err != nil {
				return fmt.Errorf("plots: %w", err)
			}
			fmt.Fprintf(os.Stderr, "plots in %s: %s\n", dir, strings.Join(written, ", "))
		}
		for _, c := range report.Cells {
			if c.Failed > 0 {
				return fmt.Errorf("%d requests failed (%s, c=%d): the figures are not comparable", c.Failed, c.Target, c.Concurrency)
			}
		}
		return nil
	}))
}
