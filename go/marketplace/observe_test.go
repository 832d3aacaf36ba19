package marketplace

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/status"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onlinebooks/bookstore/go/platform/admin"
	"github.com/onlinebooks/bookstore/go/platform/telemetry"
	"github.com/onlinebooks/bookstore/go/testkit"
)

// A successful GET of every route has its series, at zero, before the first
// request, so dashboards and alerts see a rate of 0 rather than no data.
func TestMetrics_StartAtZero(t *testing.T) {
	w := newWorld(t, time.Second, "", 0)
	for _, route := range []string{"GET /{$}", "GET /style.css", "GET /healthz", "GET /readyz"} {
		labels := map[string]string{"route": route, "method": "GET", "code": "200"}
		if got := testkit.Value(t, w.reg, "http_requests_total", labels); got != 0 {
			t.Errorf("http_requests_total%v before any request: got %v, want 0", labels, got)
		}
	}
	if got := testkit.Value(t, w.reg, "marketplace_pages_degraded_total", nil); got != 0 {
		t.Errorf("marketplace_pages_degraded_total before any request: got %v, want 0", got)
	}
}

func TestMetrics_AfterOnePageView(t *testing.T) {
	w := newWorld(t, time.Second, "", 0)
	if code, _ := get(t, w.handler, http.MethodGet, "/"); code != http.StatusOK {
		t.Fatalf("page: %d", code)
	}

	series := []struct {
		name   string
		labels map[string]string
	}{
		{"http_requests_total", map[string]string{"route": "GET /{$}", "method": "GET", "code": "200"}},
		{"http_request_duration_seconds", map[string]string{"route": "GET /{$}", "method": "GET", "code": "200"}},
		{"grpc_client_started_total", map[string]string{"grpc_method": "Recommend"}},
		{"grpc_client_handled_total", map[string]string{"grpc_method": "Recommend", "grpc_code": "OK"}},
		{"grpc_client_handling_seconds", map[string]string{"grpc_method": "Recommend"}},
	}
	for _, s := range series {
		if got, want := testkit.Value(t, w.reg, s.name, s.labels), 1.0; got != want {
			t.Errorf("%s%v: got %v, want %v", s.name, s.labels, got, want)
		}
	}

	// The admin port serves the same series in Prometheus' text format.
	_, text := get(t, admin.Handler(w.reg, nil), http.MethodGet, "/metrics")
	for _, want := range []string{
		`http_requests_total{code="200",method="GET",route="GET /{$}"} 1`,
		`grpc_client_handled_total{grpc_code="OK",grpc_method="Recommend",grpc_service="bookstore.recommendations.v1.RecommendationsService",grpc_type="unary"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestMetrics_UnmatchedPathsShareOneRoute(t *testing.T) {
	w := newWorld(t, time.Second, "", 0)
	for _, p := range []string{"/a", "/b", "/c"} {
		get(t, w.handler, http.MethodGet, p)
	}
	if got, want := testkit.Value(t, w.reg, "http_requests_total", map[string]string{"route": "unmatched", "code": "404"}), 3.0; got != want {
		t.Errorf("unmatched 404s: got %v, want %v", got, want)
	}
}

func TestTracing_PageSpanIsTheParentOfTheGRPCSpans(t *testing.T) {
	w := newWorld(t, time.Second, "", 0)
	// The page request continues a trace its caller started.
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req := httptest.NewRequest(http.MethodGet, "/?category=mystery", nil)
	req.Header.Set("traceparent", traceparent)
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("page: %d", rec.Code)
	}

	// Recommendations ends its span after it has sent the response, so the
	// last of the three spans may be recorded a moment after the page.
	spans := w.spans.Ended()
	for deadline := time.Now().Add(5 * time.Second); len(spans) < 3 && time.Now().Before(deadline); spans = w.spans.Ended() {
		time.Sleep(5 * time.Millisecond)
	}
	byKind := map[trace.SpanKind][]string{}
	find := func(kind trace.SpanKind, name string) (trace.SpanContext, trace.SpanContext) {
		t.Helper()
		for _, s := range spans {
			if s.SpanKind() == kind && s.Name() == name {
				return s.SpanContext(), s.Parent()
			}
			byKind[s.SpanKind()] = append(byKind[s.SpanKind()], s.Name())
		}
		t.Fatalf("no %s span %q among %v", kind, name, byKind)
		return trace.SpanContext{}, trace.SpanContext{}
	}
	page, pageParent := find(trace.SpanKindServer, "GET /{$}")
	client, clientParent := find(trace.SpanKindClient, "bookstore.recommendations.v1.RecommendationsService/Recommend")
	server, serverParent := find(trace.SpanKindServer, "bookstore.recommendations.v1.RecommendationsService/Recommend")

	if got, want := page.TraceID().String(), "4bf92f3577b34da6a3ce929d0e0e4736"; got != want {
		t.Errorf("page span trace: got %s, want the caller's %s", got, want)
	}
	if got, want := pageParent.SpanID().String(), "00f067aa0ba902b7"; got != want {
		t.Errorf("page span parent: got %s, want the caller's %s", got, want)
	}
	if got, want := clientParent.SpanID(), page.SpanID(); got != want {
		t.Errorf("gRPC client span parent: got %s, want the page span %s", got, want)
	}
	if got, want := serverParent.SpanID(), client.SpanID(); got != want {
		t.Errorf("gRPC server span parent: got %s, want the client span %s", got, want)
	}
	if server.TraceID() != page.TraceID() {
		t.Errorf("gRPC server span is in trace %s, want %s", server.TraceID(), page.TraceID())
	}
}

func TestAccessLog(t *testing.T) {
	w := newWorld(t, time.Second, "", 0)
	get(t, w.handler, http.MethodGet, "/?category=self-help")
	get(t, w.handler, http.MethodGet, "/?category=nope")

	var requests []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(w.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["msg"] == "http request" {
			requests = append(requests, rec)
		}
	}
	if len(requests) != 2 {
		t.Fatalf("got %d access log records, want 2:\n%s", len(requests), w.logs)
	}
	for i, want := range []struct {
		uri   string
		code  float64
		level string
	}{{"/?category=self-help", 200, "DEBUG"}, {"/?category=nope", 400, "WARN"}} {
		rec := requests[i]
		if rec["uri"] != want.uri || rec["code"] != want.code || rec["level"] != want.level || rec["route"] != "GET /{$}" {
			t.Errorf("record %d: got %v, want uri %s, code %v at %s", i, rec, want.uri, want.code, want.level)
		}
		if _, ok := rec["time_us"]; !ok {
			t.Errorf("record %d lacks time_us", i)
		}
	}
}

// Under overload the 503s come by the thousand, one condition: one record a
// second, while the metrics count each.
func TestAccessLog_UnavailableAtMostOnceASecond(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /busy", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	h := observe(telemetry.Observability{Log: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: reg}, mux, []string{"GET /busy"})
	for range 50 {
		get(t, h, http.MethodGet, "/busy")
	}
	if got := strings.Count(logs.String(), `"msg":"http request"`); got != 1 {
		t.Errorf("got %d records of 50 503s within a second, want 1:\n%s", got, logs.String())
	}
	if got := testkit.Value(t, reg, "http_requests_total", map[string]string{"route": "GET /busy", "code": "503"}); got != 50 {
		t.Errorf("http_requests_total of the 503s: got %v, want 50", got)
	}
}

func TestRecoverPanics_GenericErrorPage(t *testing.T) {
	var logs bytes.Buffer
	h := recoverPanics(slog.New(slog.NewJSONHandler(&logs, nil)), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("template cache corrupted at 0xdeadbeef")
	}))
	code, body := get(t, h, http.MethodGet, "/")
	if got, want := code, http.StatusInternalServerError; got != want {
		t.Errorf("status: got %d, want %d", got, want)
	}
	if strings.Contains(body, "0xdeadbeef") || strings.Contains(body, "goroutine") {
		t.Errorf("500 page shows internals:\n%s", body)
	}
	if !strings.Contains(body, "Something went wrong on our side.") {
		t.Errorf("500 page lacks the generic message:\n%s", body)
	}
	if !strings.Contains(logs.String(), "0xdeadbeef") || !strings.Contains(logs.String(), "observe_test.go") {
		t.Errorf("log lacks the panic and its stack:\n%s", logs.String())
	}
}

func TestRecoverPanics_AbortHandlerStillAborts(t *testing.T) {
	h := recoverPanics(slog.New(slog.DiscardHandler), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if got := recover(); got != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler to propagate", got)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
}

// seriesCount is how many series the registry holds of the page's metrics.
func seriesCount(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range families {
		if strings.HasPrefix(mf.GetName(), "http_") {
			n += len(mf.GetMetric())
		}
	}
	return n
}

// Made-up methods and paths, however many, fall into the same few series.
func TestMetrics_LabelsAreBounded(t *testing.T) {
	w := newWorld(t, time.Second, "", 0)
	send := func(method, target string) {
		w.handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, target, nil))
	}
	// One of each kind first: its series are the ones all the rest share.
	send("BBX0", "/")
	send(http.MethodGet, "/nowhere0")
	want := seriesCount(t, w.reg)
	for i := range 10_000 {
		send(fmt.Sprintf("BBX%d", i+1), "/")
		send(http.MethodGet, fmt.Sprintf("/nowhere%d", i+1))
	}
	if got := seriesCount(t, w.reg); got != want {
		t.Errorf("series after 10,000 made-up methods and paths: got %d, want %d", got, want)
	}
	if got := testkit.Value(t, w.reg, "http_requests_total", map[string]string{"method": "other", "code": "405"}); got != 10_001 {
		t.Errorf(`http_requests_total{method="other"}: got %v, want 10001`, got)
	}
}

// /readyz says why Recommendations is not ready: a refusal is not an
// outage.
func TestReadyz_NamesTheCause(t *testing.T) {
	deny := grpc.UnaryInterceptor(func(context.Context, any, *grpc.UnaryServerInfo, grpc.UnaryHandler) (any, error) {
		return nil, status.Error(codes.PermissionDenied, "client (none) is not allowed")
	})
	srv := grpc.NewServer(deny)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	o := telemetry.Observability{Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()}
	h := NewHandler(o, testkit.Dial(t, srv), DefaultMaxInFlight)
	code, body := get(t, h, http.MethodGet, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "PermissionDenied") {
		t.Errorf("readyz: got %d %q, want 503 naming PermissionDenied", code, body)
	}
}
