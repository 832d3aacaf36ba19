package marketplace

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/onlinebooks/bookstore/go/platform/bounded"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/status"

	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// BooksPerPage is how many recommendations the homepage asks for.
const BooksPerPage = 3

//go:embed templates/*.html templates/style.css
var templateFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// stylesheet is the site's one stylesheet, served at /style.css: no page
// carries inline style, which the Content-Security-Policy forbids.
var stylesheet = func() []byte {
	b, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		panic(err) // embedded above
	}
	return b
}()

// tops holds the top of each category's homepage (the document's head, the
// navigation with the category marked current, the heading), and
// errorHeader the error pages' navigation (none current). Both depend on
// nothing a request brings, so they are rendered here, once: on every
// request, their escaped actions cost more than the books'.
var tops, errorHeader = func() (map[pb.BookCategory]template.HTML, template.HTML) {
	t := map[pb.BookCategory]template.HTML{}
	for _, c := range categories {
		t[c.Value] = renderOnce("homepage-top", c)
	}
	return t, renderOnce("header", Category{})
}()

// renderOnce renders the template name for the page of category current.
func renderOnce(name string, current Category) template.HTML {
	data := struct {
		Categories []Category
		Category   Category
	}{categories, current}
	// Made by html/template's own escaping, so it is safe as it is.
	return template.HTML(mustRender(name, data))
}

// mustRender renders what is rendered once, at start-up: a failure is a
// broken embedded template, which TestHomepage shows too.
func mustRender(name string, data any) []byte {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Homepage renders "<Category> books you may like" from Recommendations.
// When Recommendations fails, or misses the deadline the client connection
// gives each call (client.Instrumentation), the page still renders, with a
// notice in place of the list.
type Homepage struct {
	Client pb.RecommendationsServiceClient
	Log    *slog.Logger
	// Degraded (required) counts the pages rendered with the notice: 200s,
	// which http_requests_total cannot tell from pages with books, and the
	// page SLO counts as failures (k8s/monitoring/rules.yaml).
	Degraded prometheus.Counter
}

// UnavailableNotice is what the page says in place of the books when
// Recommendations did not answer: the one spelling of it, which the load
// generator and the end-to-end tests look for.
const UnavailableNotice = "Recommendations are unavailable right now"

type homepageData struct {
	Top   template.HTML // tops[the category]
	Books []*pb.Book
	// Notice, when set, stands in place of the books.
	Notice string
}

func (h *Homepage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	category, problem := requestedCategory(r)
	if problem != "" {
		renderError(w, h.Log, http.StatusBadRequest, problem)
		return
	}
	data := homepageData{Top: tops[category.Value]}

	resp, err := h.Client.Recommend(r.Context(), &pb.RecommendRequest{Category: category.Value, MaxResults: BooksPerPage})
	switch {
	case err != nil && r.Context().Err() != nil:
		// The visitor went away (closed the tab, or its connection broke):
		// nobody is left to answer, and Recommendations is not at fault.
		w.WriteHeader(StatusClientClosedRequest)
		return
	case err != nil:
		h.Log.WarnContext(r.Context(), "recommendations unavailable, rendering without them",
			"category", category.Slug, "code", status.Code(err).String(), "err", err)
		data.Notice = UnavailableNotice
		h.Degraded.Inc()
	default:
		data.Books = resp.GetBooks()
	}
	render(w, h.Log, http.StatusOK, "homepage.html", data)
}

// StatusClientClosedRequest is the status a request gets in metrics and
// logs when its client went away before the page was ready (nginx's 499):
// an outcome of its own, neither a success nor the service's failure.
const StatusClientClosedRequest = 499

// maxEcho bounds how much of a visitor's input an error page repeats.
const maxEcho = 40

// requestedCategory reads ?category=, which is optional but must name one
// category once, in a well-formed query; problem says what is wrong for the
// 400 page.
func requestedCategory(r *http.Request) (c Category, problem string) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		// Go's parser refuses what it cannot read unambiguously (a bad
		// %-escape, a ; separator) rather than guessing.
		return Category{}, "The address's query is malformed."
	}
	values := query["category"]
	switch len(values) {
	case 0:
		return categories[0], ""
	case 1:
	default:
		return Category{}, "Give one category only."
	}
	c, ok := categoryBySlug(values[0])
	if !ok {
		slugs := make([]string, len(categories))
		for i, c := range categories {
			slugs[i] = c.Slug
		}
		return Category{}, fmt.Sprintf("There is no category %q. Choose one of: %s.", bounded.Excerpt(values[0], maxEcho), strings.Join(slugs, ", "))
	}
	return c, ""
}

// render executes a template into a buffer first, so that a failure yields a
// clean error page instead of half a page.
func render(w http.ResponseWriter, log *slog.Logger, code int, name string, data any) {
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer putPageBuffer(buf)
	if err := templates.ExecuteTemplate(buf, name, data); err != nil {
		log.Error("rendering template", "template", name, "err", err)
		if name != "error.html" {
			renderError(w, log, http.StatusInternalServerError, "Something went wrong on our side.")
		} else {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		}
		return
	}
	writePage(w, code, buf.Bytes())
}

// writePage sends an HTML page with code.
func writePage(w http.ResponseWriter, code int, page []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(page)
}

// pageBuffers are render's buffers, reused from page to page: a new one
// for each page, zeroed and grown, cost more than rendering the navigation
// did.
var pageBuffers = sync.Pool{New: func() any {
	b := new(bytes.Buffer)
	b.Grow(4 << 10) // room for a whole page
	return b
}}

// putPageBuffer returns buf to the pool, unless a page made it unusually
// large: a pool of such buffers would hold their memory for good.
func putPageBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 64<<10 {
		return
	}
	buf.Reset()
	pageBuffers.Put(buf)
}

// renderError writes the error page: the site's layout, the status, and
// message, which may quote at most an excerpt of the visitor's input.
func renderError(w http.ResponseWriter, log *slog.Logger, code int, message string) {
	render(w, log, code, "error.html", errorData(code, message))
}

// errorPage renders the error page for an answer that never changes, once.
func errorPage(code int, message string) []byte {
	return mustRender("error.html", errorData(code, message))
}

type errorPageData struct {
	Header     template.HTML
	Status     int
	StatusText string
	Message    string
}

func errorData(code int, message string) errorPageData {
	return errorPageData{errorHeader, code, http.StatusText(code), message}
}
