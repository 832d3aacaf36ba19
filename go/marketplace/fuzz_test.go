package marketplace

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// FuzzHomepageQuery sends the page any query string. It answers 200 for
// a well-formed query with no category or a known one, 400 with the error
// page otherwise; never a
// panic, never a 500. The seeds run in every `bazel test`;
// //go/marketplace:fuzz_test fuzzes for a while.
func FuzzHomepageQuery(f *testing.F) {
	for _, seed := range []string{
		"", "category=mystery", "category=self-help&x=1", "category=poetry", "category=mystery&category=mystery",
		"category=%ZZ", "category=%3Cscript%3E", ";;;&&&==", "category=" + strings.Repeat("a", 4096), "CATEGORY=mystery",
	} {
		f.Add(seed)
	}
	h := &Homepage{Client: fixedBooks{benchBooks(f)}, Log: slog.New(slog.DiscardHandler), Degraded: prometheus.NewCounter(prometheus.CounterOpts{Name: "degraded"})}
	f.Fuzz(func(t *testing.T, query string) {
		// Built by hand: httptest.NewRequest panics on a URL it cannot parse.
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/", RawQuery: query}, Header: http.Header{}}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)

		parsed, err := url.ParseQuery(query)
		values := parsed["category"]
		_, known := categoryBySlug(strings.Join(values, ""))
		want := http.StatusBadRequest
		if err == nil && (len(values) == 0 || (len(values) == 1 && known)) {
			want = http.StatusOK
		}
		if w.Code != want {
			t.Fatalf("?%s: status %d, want %d", query, w.Code, want)
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" || w.Body.Len() == 0 {
			t.Fatalf("?%s: content type %q, %d bytes; want an HTML page", query, ct, w.Body.Len())
		}
		if strings.Contains(w.Body.String(), "<script>") {
			t.Fatalf("?%s: the page echoes markup unescaped", query)
		}
	})
}
