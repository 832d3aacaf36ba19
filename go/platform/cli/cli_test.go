package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"
)

func TestMain_FlagsAndEnvironment(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantAddr string
	}{
		{"default", nil, nil, ":1"},
		{"environment", map[string]string{"LISTEN_ADDR": ":2"}, nil, ":2"},
		{"flag wins over environment", map[string]string{"LISTEN_ADDR": ":2"}, []string{"-listen-addr=:3"}, ":3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("svc", flag.ContinueOnError)
			addr := fs.String("listen-addr", ":1", "")
			code := Main(fs, tt.args, &bytes.Buffer{}, func(context.Context, *slog.Logger) error { return nil })
			if code != 0 {
				t.Fatalf("exit code %d, want 0", code)
			}
			if got, want := *addr, tt.wantAddr; got != want {
				t.Errorf("listen-addr: got %q, want %q", got, want)
			}
		})
	}
}

func TestMain_ExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  error
		want int
	}{
		{"success", nil, nil, 0},
		{"run fails", nil, errors.New("boom"), 1},
		{"unknown flag", []string{"-nope"}, nil, 2},
		{"bad log level", []string{"-log-level=LOUD"}, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("svc", flag.ContinueOnError)
			fs.SetOutput(&bytes.Buffer{})
			got := Main(fs, tt.args, &bytes.Buffer{}, func(context.Context, *slog.Logger) error { return tt.err })
			if got != tt.want {
				t.Errorf("exit code: got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMain_LogsJSONWithTheServiceName(t *testing.T) {
	var stderr bytes.Buffer
	fs := flag.NewFlagSet("recommendations", flag.ContinueOnError)
	Main(fs, []string{"-log-level=WARN"}, &stderr, func(_ context.Context, log *slog.Logger) error {
		log.Info("hidden below WARN")
		log.Warn("shown", "k", "v")
		return nil
	})
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want only the warning:\n%s", len(lines), stderr.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"msg": "shown", "level": "WARN", "service": "recommendations", "k": "v"} {
		if got := rec[k]; got != want {
			t.Errorf("%s: got %v, want %q", k, got, want)
		}
	}
}
