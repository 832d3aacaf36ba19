// Package promserver runs a Prometheus server of a test's own, on loopback,
// and asks it what it saw: the end-to-end check that the system is watched
// the way k8s/monitoring's rules expect.
package promserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/onlinebooks/bookstore/go/testkit"
)

// Server is a running Prometheus.
type Server struct {
	// URL is its address, http://127.0.0.1:PORT.
	URL string
}

// Start runs the prometheus binary with config (a prometheus.yml) and the
// rule files it names (file name to text, written beside it), its storage
// under t.TempDir(), and returns once it is ready. It is a testkit.Process:
// stopped when the test ends, its log shown if the test failed.
func Start(t testing.TB, binary string, config []byte, rules map[string][]byte) *Server {
	t.Helper()
	dir := t.TempDir()
	for name, text := range rules {
		if err := os.WriteFile(filepath.Join(dir, name), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, config, 0o644); err != nil {
		t.Fatal(err)
	}
	// Prometheus cannot say which port it chose for :0, so the test chooses.
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	p := testkit.Start(t, binary,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	s := &Server{URL: "http://" + addr}
	ready := func() bool { code, _ := testkit.Get(s.URL + "/-/ready"); return code == http.StatusOK }
	if !testkit.Eventually(30*time.Second, func() bool { return !p.Running() || ready() }) || !p.Running() {
		t.Fatalf("prometheus not ready within 30s (running: %t):\n%s", p.Running(), p.Logs())
	}
	return s
}

// Sample is one series of a query's result.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Query evaluates the PromQL expression expr now.
func (s *Server) Query(t testing.TB, expr string) []Sample {
	t.Helper()
	var data struct {
		Result []struct {
			Metric map[string]string
			Value  [2]any // [time, "value"]
		}
	}
	s.get(t, "/api/v1/query?query="+url.QueryEscape(expr), &data)
	samples := make([]Sample, len(data.Result))
	for i, r := range data.Result {
		text, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			t.Fatalf("query %s: value %v: %v", expr, r.Value[1], err)
		}
		samples[i] = Sample{Labels: r.Metric, Value: v}
	}
	return samples
}

// Alert is an alert pending or firing.
type Alert struct {
	Labels      map[string]string
	Annotations map[string]string
	State       string // "pending" or "firing"
}

// Alerts returns the alerts pending or firing now.
func (s *Server) Alerts(t testing.TB) []Alert {
	t.Helper()
	var data struct{ Alerts []Alert }
	s.get(t, "/api/v1/alerts", &data)
	return data.Alerts
}

// get decodes the data of an API answer into data; testkit.Get bounds the
// request, so a Prometheus that hangs fails the test.
func (s *Server) get(t testing.TB, path string, data any) {
	t.Helper()
	code, body := testkit.Get(s.URL + path)
	var answer struct {
		Status string
		Error  string
		Data   json.RawMessage
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatalf("GET %s: %d: %v: %.200s", path, code, err, body)
	}
	if answer.Status != "success" {
		t.Fatalf("GET %s: %d: %s", path, code, answer.Error)
	}
	if err := json.Unmarshal(answer.Data, data); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// Shorten divides every duration in the rule file rules by factor: each
// range selector's window ([1h]) and each alert's `for`. A test then sees
// in seconds what the rules say in hours, with the same thresholds and
// the same arithmetic.
func Shorten(rules []byte, factor int) ([]byte, error) {
	var err error
	scale := func(d string) string {
		parsed, perr := model.ParseDuration(d)
		if perr != nil {
			err = perr
			return d
		}
		return model.Duration(time.Duration(parsed) / time.Duration(factor)).String()
	}
	out := window.ReplaceAllFunc(rules, func(m []byte) []byte {
		return []byte("[" + scale(string(m[1:len(m)-1])) + "]")
	})
	out = forClause.ReplaceAllFunc(out, func(m []byte) []byte {
		sub := forClause.FindSubmatch(m)
		return []byte(string(sub[1]) + scale(string(sub[2])))
	})
	if err != nil {
		return nil, fmt.Errorf("shortening the rules' durations: %w", err)
	}
	return out, nil
}

var (
	window    = regexp.MustCompile(`\[[0-9]+[smhdwy]\]`)
	forClause = regexp.MustCompile(`(?m)^(\s+for: )([0-9]+[smhdwy])$`)
)
