package marketplace

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/onlinebooks/bookstore/go/platform/telemetry"
	"github.com/onlinebooks/bookstore/go/recommendations"
	"github.com/onlinebooks/bookstore/go/recommendations/client"
	"github.com/onlinebooks/bookstore/go/recommendations/recommendationstest"
	"github.com/onlinebooks/bookstore/go/testkit"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// world is a Marketplace handler wired to a real Recommendations server in
// memory, with everything they report kept for the test to read.
type world struct {
	handler http.Handler
	reg     *prometheus.Registry
	spans   *tracetest.SpanRecorder
	logs    *bytes.Buffer
	stop    func() // stops the Recommendations server, as in an outage
}

// newWorld serves Recommendations (over catalogJSON when given) and builds the
// Marketplace handler on a connection to it whose calls time out after timeout.
func newWorld(t *testing.T, timeout time.Duration, catalogJSON string, delay time.Duration) world {
	t.Helper()
	w := world{reg: prometheus.NewRegistry(), spans: tracetest.NewSpanRecorder(), logs: &bytes.Buffer{}}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(w.spans))
	catalog := recommendations.DefaultCatalog()
	if catalogJSON != "" {
		var err error
		if catalog, err = recommendations.ParseCatalog(strings.NewReader(catalogJSON)); err != nil {
			t.Fatal(err)
		}
	}
	backendObs := telemetry.Observability{Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry(), TracerProvider: tp}
	var svc pb.RecommendationsServiceServer = recommendations.NewService(catalog)
	if delay > 0 {
		svc = recommendationstest.Slow(svc, delay)
	}
	srv := recommendations.NewGRPCServer(backendObs, svc, health.NewServer())
	w.stop = srv.Stop

	// The handler writes its log from request goroutines only, which the
	// tests wait for, so a plain buffer is safe to read afterwards.
	o := telemetry.Observability{Log: slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Metrics: w.reg, TracerProvider: tp}
	calls, err := client.NewInstrumentation(o)
	if err != nil {
		t.Fatal(err)
	}
	w.handler = NewHandler(o, testkit.Dial(t, srv, calls.DialOptions(timeout)...), DefaultMaxInFlight)
	return w
}

func get(t *testing.T, h http.Handler, method, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Code, rec.Body.String()
}

func TestHomepage(t *testing.T) {
	h := newWorld(t, time.Second, "", 0).handler
	tests := []struct {
		name      string
		target    string
		wantCode  int
		wantTexts []string
		wantItems int
	}{
		{"default category is mystery", "/", http.StatusOK, []string{"<title>Online Books For You</title>", "<h1>Mystery books you may like</h1>"}, BooksPerPage},
		{"science fiction", "/?category=science-fiction", http.StatusOK, []string{"<h1>Science fiction books you may like</h1>"}, BooksPerPage},
		{"self-help", "/?category=self-help", http.StatusOK, []string{"<h1>Self-help books you may like</h1>", `href="/?category=self-help" aria-current="page"`}, BooksPerPage},
		{"links to every category", "/", http.StatusOK, []string{`href="/?category=mystery" aria-current="page"`, `href="/?category=science-fiction"`, `href="/?category=self-help"`}, BooksPerPage},
		{"unknown category is a 400 page", "/?category=poetry", http.StatusBadRequest, []string{"There is no category &#34;poetry&#34;", "mystery, science-fiction, self-help"}, 0},
		{"repeated category is a 400 page", "/?category=mystery&category=self-help", http.StatusBadRequest, []string{"Give one category only."}, 0},
		{"unknown path is the site's 404 page", "/admin", http.StatusNotFound, []string{"<h1>Not Found</h1>", `<nav aria-label="Categories">`, `<meta name="viewport"`}, 0},
		{"a ; separator is a 400 page", "/?category=self-help;x=1", http.StatusBadRequest, []string{"The address&#39;s query is malformed."}, 0},
		{"a bad escape is a 400 page", "/?category=%zz", http.StatusBadRequest, []string{"The address&#39;s query is malformed."}, 0},
		{"a cut escape is a 400 page", "/?category=science-fiction%", http.StatusBadRequest, []string{"The address&#39;s query is malformed."}, 0},
		{"the 400 page has the site's layout", "/?category=poetry", http.StatusBadRequest, []string{`<nav aria-label="Categories">`, `<link rel="stylesheet" href="/style.css">`}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, h, http.MethodGet, tt.target)
			if got, want := code, tt.wantCode; got != want {
				t.Errorf("status: got %d, want %d", got, want)
			}
			for _, want := range tt.wantTexts {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q:\n%s", want, body)
				}
			}
			if got, want := strings.Count(body, "<li>"), tt.wantItems; got != want {
				t.Errorf("got %d list items, want %d", got, want)
			}
		})
	}
}

func TestHomepage_OtherMethodsAreNotAllowed(t *testing.T) {
	h := newWorld(t, time.Second, "", 0).handler
	for _, target := range []string{"/", "/readyz", "/style.css"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, target, nil))
		if got, want := rec.Code, http.StatusMethodNotAllowed; got != want {
			t.Errorf("POST %s: got %d, want %d", target, got, want)
		}
		if got, want := rec.Header().Get("Allow"), "GET, HEAD"; got != want {
			t.Errorf("POST %s: Allow %q, want %q", target, got, want)
		}
		if !strings.Contains(rec.Body.String(), "<h1>Method Not Allowed</h1>") {
			t.Errorf("POST %s: not the site's 405 page:\n%s", target, rec.Body.String())
		}
	}
}

// Every response carries the security headers, and no HTML page holds
// inline style or script, which its policy would block.
func TestSecurityHeaders(t *testing.T) {
	h := newWorld(t, time.Second, "", 0).handler
	for _, r := range []struct{ method, target string }{
		{http.MethodGet, "/"}, {http.MethodGet, "/?category=poetry"}, {http.MethodGet, "/nowhere"},
		{http.MethodPost, "/"}, {http.MethodGet, "/style.css"}, {http.MethodGet, "/healthz"}, {http.MethodGet, "/readyz"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(r.method, r.target, nil))
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
			"X-Frame-Options":         "DENY",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := rec.Header().Get(k); got != want {
				t.Errorf("%s %s: %s %q, want %q", r.method, r.target, k, got, want)
			}
		}
		if body := rec.Body.String(); strings.Contains(rec.Header().Get("Content-Type"), "text/html") {
			for _, inline := range []string{"<style", "<script", " style="} {
				if strings.Contains(body, inline) {
					t.Errorf("%s %s: page holds %q, which the policy blocks", r.method, r.target, inline)
				}
			}
		}
	}
	code, css := get(t, h, http.MethodGet, "/style.css")
	if code != http.StatusOK || !strings.Contains(css, ".unavailable") {
		t.Errorf("/style.css: got %d, want the stylesheet:\n%s", code, css)
	}
}

// A visitor's input comes back at most as a short excerpt, on the page and
// in the log.
func TestHomepage_EchoIsBounded(t *testing.T) {
	w := newWorld(t, time.Second, "", 0)
	long := strings.Repeat("x", 100<<10)
	code, body := get(t, w.handler, http.MethodGet, "/?category="+long)
	if code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", code)
	}
	if len(body) > 4<<10 || !strings.Contains(body, strings.Repeat("x", maxEcho)+"…") {
		t.Errorf("400 page of %d bytes, want under 4 KiB with a %d-byte excerpt", len(body), maxEcho)
	}
	for _, line := range strings.Split(w.logs.String(), "\n") {
		if len(line) > 2<<10 {
			t.Errorf("log line of %d bytes, want under 2 KiB: %.200s…", len(line), line)
		}
	}
}

// A visitor who goes away before the page is ready is not Recommendations'
// failure: no "unavailable" warning, and an outcome of its own (499).
func TestHomepage_ClientGoneIsItsOwnOutcome(t *testing.T) {
	w := newWorld(t, time.Second, "", 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	if got, want := rec.Code, StatusClientClosedRequest; got != want {
		t.Errorf("status: got %d, want %d", got, want)
	}
	if strings.Contains(w.logs.String(), "recommendations unavailable") || strings.Contains(w.logs.String(), `"level":"WARN"`) {
		t.Errorf("a gone client was logged as a warning:\n%s", w.logs.String())
	}
}

func TestHomepage_TitlesAreEscaped(t *testing.T) {
	w := newWorld(t, time.Second, `{"books": [{"id": 1, "title": "<script>alert(1)</script>", "author": "Tom & \"Jerry\"", "category": "MYSTERY"}]}`, 0)
	code, body := get(t, w.handler, http.MethodGet, "/")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if strings.Contains(body, "<script>alert") {
		t.Errorf("title reached the page unescaped:\n%s", body)
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "Tom &amp; &#34;Jerry&#34;"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks escaped %q:\n%s", want, body)
		}
	}
}

func TestHomepage_DegradesWhenRecommendationsFails(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) world
	}{
		{"backend down", func(t *testing.T) world {
			w := newWorld(t, 50*time.Millisecond, "", 0)
			w.stop()
			return w
		}},
		{"backend slower than the deadline", func(t *testing.T) world {
			return newWorld(t, 50*time.Millisecond, "", time.Hour)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.setup(t)
			code, body := get(t, w.handler, http.MethodGet, "/?category=self-help")
			if got, want := code, http.StatusOK; got != want {
				t.Errorf("status: got %d, want %d", got, want)
			}
			for _, want := range []string{"<h1>Self-help books you may like</h1>", UnavailableNotice} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q:\n%s", want, body)
				}
			}
			if n := strings.Count(body, "<li>"); n != 0 {
				t.Errorf("degraded page lists %d books, want none", n)
			}
			if got, want := testkit.Value(t, w.reg, "marketplace_pages_degraded_total", nil), 1.0; got != want {
				t.Errorf("marketplace_pages_degraded_total: got %v, want %v", got, want)
			}
		})
	}
}

func TestHealthEndpoints(t *testing.T) {
	w := newWorld(t, 100*time.Millisecond, "", 0)
	h := w.handler
	for _, tt := range []struct {
		path string
		want int
	}{{"/healthz", http.StatusOK}, {"/readyz", http.StatusOK}} {
		if code, _ := get(t, h, http.MethodGet, tt.path); code != tt.want {
			t.Errorf("%s with the backend up: got %d, want %d", tt.path, code, tt.want)
		}
	}
	w.stop()
	for _, tt := range []struct {
		path string
		want int
	}{{"/healthz", http.StatusOK}, {"/readyz", http.StatusServiceUnavailable}} {
		if code, _ := get(t, h, http.MethodGet, tt.path); code != tt.want {
			t.Errorf("%s with the backend down: got %d, want %d", tt.path, code, tt.want)
		}
	}
}

// Past its bound the page is refused at once, a 503 page with Retry-After,
// instead of queueing; it serves again once the pages in progress end.
func TestHomepage_BusyIsRefusedAtOnce(t *testing.T) {
	// Only the first call is held. (Holding whichever call found the test
	// already waiting, as this did, let the first call through unheld
	// when it arrived first, and the test waited for good.)
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	var holding atomic.Bool
	held := grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if holding.CompareAndSwap(false, true) {
			arrived <- struct{}{}
			<-release
		}
		return handler(ctx, req)
	})
	srv := grpc.NewServer(held)
	pb.RegisterRecommendationsServiceServer(srv, recommendations.NewService(recommendations.DefaultCatalog()))
	o := telemetry.Observability{Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()}
	h := NewHandler(o, testkit.Dial(t, srv), 1)

	first := make(chan int, 1)
	go func() {
		code, _ := get(t, h, http.MethodGet, "/")
		first <- code
	}()
	<-arrived
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got, want := rec.Code, http.StatusServiceUnavailable; got != want {
		t.Errorf("a page past the bound: got %d, want %d", got, want)
	}
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After: got %q, want 1", got)
	}
	if !strings.Contains(rec.Body.String(), `<nav aria-label="Categories">`) {
		t.Errorf("503 is not the site's page:\n%s", rec.Body.String())
	}
	close(release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("the page in progress: got %d, want 200", code)
	}
	if code, _ := get(t, h, http.MethodGet, "/"); code != http.StatusOK {
		t.Errorf("a page once the other ended: got %d, want 200", code)
	}
}
