package browser

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/onlinebooks/bookstore/go/marketplace"
	"github.com/onlinebooks/bookstore/go/testkit"
)

// TestPage looks at the page the way a person does, in a real headless
// Chromium (CHROMIUM), served by both real binaries on loopback: each
// category with its heading and three books, the navigation by clicks, the
// notice when Recommendations is down, the 400 page, a phone-wide viewport,
// the basics of accessibility, and no console error or Content-Security-
// Policy violation anywhere. A screenshot of each state goes to the test's
// undeclared outputs (test.outputs/, beside its test.log).
func TestPage(t *testing.T) {
	recs := testkit.Start(t, testkit.Runfile(t, "RECOMMENDATIONS_BIN"), "-grpc-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0")
	recsAddr := recs.ListenAddrs(10*time.Second, "api")["api"]
	market := testkit.Start(t, testkit.Runfile(t, "MARKETPLACE_BIN"), "-http-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0",
		"-recommendations-host="+recsAddr, "-recommendations-timeout=1s")
	base := "http://" + market.ListenAddrs(10*time.Second, "page")["page"]
	testkit.WaitFor(t, 10*time.Second, "marketplace ready", func() bool {
		code, _ := testkit.Get(base + "/readyz")
		return code == http.StatusOK
	})

	b := newBrowser(t)
	// The categories as a visitor sees them: the first is the homepage's.
	categories := []category{{"mystery", "Mystery"}, {"science-fiction", "Science fiction"}, {"self-help", "Self-help"}}

	// Every category, by its address: heading, three books, the current link.
	for _, c := range categories {
		b.open(t, base+"/?category="+c.slug, "category-"+c.slug, "").checkCategory(t, categories, c)
	}

	// The reporting of Content-Security-Policy violations works: an inline
	// style put into the page is refused, and the refusal is seen.
	b.checkCSPReported(t)

	// The navigation, by clicks from the homepage (the first category).
	b.open(t, base+"/", "homepage", "").checkCategory(t, categories, categories[0])
	for _, c := range slices.Backward(categories) {
		p := b.click(t, fmt.Sprintf(`nav a[href="/?category=%s"]`, c.slug), "clicked-"+c.slug)
		if want := base + "/?category=" + c.slug; p.URL != want {
			t.Errorf("clicking %s: address %s, want %s", c.title, p.URL, want)
		}
		p.checkCategory(t, categories, c)
	}

	// A phone's width: nothing scrolls sideways.
	badRequest := base + "/?category=poetry"
	b.viewport(t, 390, 844)
	for _, page := range []struct{ url, name, status string }{
		{base + "/", "narrow-homepage", ""},
		{base + "/?category=science-fiction", "narrow-science-fiction", ""},
		{badRequest, "narrow-bad-request", "400"},
	} {
		p := b.open(t, page.url, page.name, page.status)
		p.checkLayout(t, categories)
		if p.ScrollWidth > p.ClientWidth {
			t.Errorf("%s at 390 px: %d px of content in %d, scrolls sideways", page.url, p.ScrollWidth, p.ClientWidth)
		}
	}
	b.viewport(t, 1280, 800)

	// The 400 page: the site's layout around the error.
	p := b.open(t, badRequest, "bad-request", "400")
	p.checkLayout(t, categories)
	if len(p.H1) == 1 && p.H1[0] != "Bad Request" {
		t.Errorf("400 page: heading %q, want Bad Request", p.H1[0])
	}
	if slices.ContainsFunc(p.Nav, func(l link) bool { return l.Current != "" }) {
		t.Errorf("400 page: a category marked current: %+v", p.Nav)
	}

	// Recommendations gone: the notice, and the page's navigation still there.
	recs.Terminate(15 * time.Second)
	p = b.open(t, base+"/?category=self-help", "unavailable", "")
	p.checkLayout(t, categories)
	if !strings.Contains(p.Notice, marketplace.UnavailableNotice) {
		t.Errorf("with Recommendations down: notice %q, want it to say %q", p.Notice, marketplace.UnavailableNotice)
	}
	if len(p.Books) != 0 {
		t.Errorf("with Recommendations down: %d books listed, want none", len(p.Books))
	}
}

type category struct{ slug, title string }

// facts are what the test reads of a page, in one evaluation of factsJS.
type facts struct {
	URL         string
	Lang        string
	Title       string
	H1          []string
	Books       []string
	Notice      string
	Nav         []link
	NavLabel    string
	Banners     int // header elements directly in body: the banner landmark
	Mains       int
	ListsOfLi   bool // every ul and ol holds only li
	Unnamed     []string
	ScrollWidth int
	ClientWidth int
}

type link struct {
	Text, Href, Current string
}

const factsJS = `(() => {
  const text = e => e.textContent.replace(/\s+/g, " ").trim();
  return {
    URL: location.href,
    Lang: document.documentElement.lang,
    Title: document.title,
    H1: [...document.querySelectorAll("h1")].map(text),
    Books: [...document.querySelectorAll("#recommendations > li")].map(text),
    Notice: text(document.querySelector("[role=status]") || document.createElement("p")),
    Nav: [...document.querySelectorAll("nav a")].map(a => ({Text: text(a), Href: a.getAttribute("href"), Current: a.getAttribute("aria-current") || ""})),
    NavLabel: (document.querySelector("nav") || document.createElement("nav")).getAttribute("aria-label") || "",
    Banners: document.querySelectorAll("body > header").length,
    Mains: document.querySelectorAll("main").length,
    ListsOfLi: [...document.querySelectorAll("ul, ol")].every(l => [...l.children].every(c => c.tagName === "LI")),
    Unnamed: [...document.querySelectorAll("a, button")].filter(e => !text(e) && !e.getAttribute("aria-label")).map(e => e.outerHTML),
    ScrollWidth: document.documentElement.scrollWidth,
    ClientWidth: document.documentElement.clientWidth,
  };
})()`

// checkLayout checks the basics every page of the site has: its language,
// the site's name in its title, one h1, the banner, labelled navigation and
// main landmarks, a link to each category, named links, lists of items
// only.
func (p facts) checkLayout(t *testing.T, categories []category) {
	t.Helper()
	var problems []string
	if p.Lang != "en" {
		problems = append(problems, fmt.Sprintf("document language %q, want en", p.Lang))
	}
	if !strings.HasSuffix(p.Title, "Online Books For You") {
		problems = append(problems, fmt.Sprintf("title %q, want it to end with the site's name", p.Title))
	}
	if len(p.H1) != 1 {
		problems = append(problems, fmt.Sprintf("%d h1 headings, want 1", len(p.H1)))
	}
	if p.Banners != 1 || p.Mains != 1 || p.NavLabel == "" {
		problems = append(problems, fmt.Sprintf("landmarks: %d banner, %d main, navigation labelled %q; want one each, labelled", p.Banners, p.Mains, p.NavLabel))
	}
	var got, want []string
	for _, l := range p.Nav {
		got = append(got, l.Text+" "+l.Href)
	}
	for _, c := range categories {
		want = append(want, c.title+" /?category="+c.slug)
	}
	if !slices.Equal(got, want) {
		problems = append(problems, fmt.Sprintf("navigation links %q, want %q", got, want))
	}
	if len(p.Unnamed) > 0 {
		problems = append(problems, fmt.Sprintf("links or buttons without a name: %q", p.Unnamed))
	}
	if !p.ListsOfLi {
		problems = append(problems, "a list holds something other than list items")
	}
	for _, problem := range problems {
		t.Errorf("%s: %s", p.URL, problem)
	}
}

// checkCategory checks a page of category c: the layout, its heading,
// three books, and c's link the one marked current.
func (p facts) checkCategory(t *testing.T, categories []category, c category) {
	t.Helper()
	p.checkLayout(t, categories)
	if want := c.title + " books you may like"; len(p.H1) != 1 || p.H1[0] != want {
		t.Errorf("%s: headings %q, want [%s]", p.URL, p.H1, want)
	}
	if len(p.Books) != marketplace.BooksPerPage {
		t.Errorf("%s: %d books %q, want %d", p.URL, len(p.Books), p.Books, marketplace.BooksPerPage)
	}
	var current []string
	for _, l := range p.Nav {
		if l.Current != "" {
			current = append(current, l.Href+" "+l.Current)
		}
	}
	if want := "/?category=" + c.slug + " page"; len(current) != 1 || current[0] != want {
		t.Errorf("%s: links marked current %q, want [%s]", p.URL, current, want)
	}
}

// browser is a headless Chromium with one tab, and what its pages logged.
type browser struct {
	ctx context.Context

	mu       sync.Mutex
	problems []problem // since the last page
}

// problem is an error or warning the page or the browser logged: a call of
// console.error or console.warn, an uncaught exception, or an entry of the
// browser's log (a failed load, a Content-Security-Policy violation).
type problem struct {
	source, text, url string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		t.Fatal("CHROMIUM names no browser: pass --test_env=CHROMIUM=/path/to/chrome (go/tests/browser/BUILD.bazel)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		// As root in a container or chroot, Chromium's sandbox cannot
		// start; the test loads only its own pages.
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800),
	)
	// The browser lives as long as the test; each action has a timeout of
	// its own (after).
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{ctx: ctx}
	// Listen's func runs in the loop that reads the tab's messages, in
	// their order, so every event before a command's reply is seen by the
	// time the command returns.
	if err := chromedp.Listen(ctx, b.record); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return b
}

func (b *browser) record(ev any) {
	var p problem
	switch ev := ev.(type) {
	case *log.EventEntryAdded:
		if ev.Entry.Level != log.EntryLevelError && ev.Entry.Level != log.EntryLevelWarning {
			return
		}
		p = problem{source: string(ev.Entry.Source), text: ev.Entry.Text, url: ev.Entry.URL}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		p = problem{source: "console." + string(ev.Type)}
		for _, arg := range ev.Args {
			p.text += " " + string(arg.Value)
		}
	case *runtime.EventExceptionThrown:
		p = problem{source: "exception", text: ev.ExceptionDetails.Text, url: ev.ExceptionDetails.URL}
	default:
		return
	}
	b.mu.Lock()
	b.problems = append(b.problems, p)
	b.mu.Unlock()
}

// forget drops what the browser logged so far, before a new page.
func (b *browser) forget() {
	b.mu.Lock()
	b.problems = nil
	b.mu.Unlock()
}

// open loads url, saves a screenshot as name.png, and returns what the page
// shows. The page must log no error or warning, but for a page meant to
// answer an error status (status, e.g. "400"): the browser's one network
// entry that its load failed with that status.
func (b *browser) open(t *testing.T, url, name, status string) facts {
	t.Helper()
	return b.after(t, name, url, status, func(ctx context.Context) error { return chromedp.Do(ctx, chromedp.Navigate(url)) })
}

// click clicks the element the CSS selector names and waits for the page it
// navigates to, as open does.
func (b *browser) click(t *testing.T, selector, name string) facts {
	t.Helper()
	return b.after(t, name, "", "", func(ctx context.Context) error {
		_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
		return err
	})
}

// after runs action, within 10 s (an element that is not there fails fast),
// then reads the page, as open describes.
func (b *browser) after(t *testing.T, name, url, status string, action func(context.Context) error) facts {
	t.Helper()
	b.forget()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := action(ctx); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	p, err := chromedp.Run(ctx, chromedp.Evaluate[facts](factsJS))
	if err != nil {
		t.Fatalf("%s: reading the page: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("%s: screenshot: %v", name, err)
	}
	if dir := os.Getenv("TEST_UNDECLARED_OUTPUTS_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Error(err)
		}
	}
	expected := func(pr problem) bool {
		return status != "" && pr.source == string(log.EntrySourceNetwork) && pr.url == url &&
			strings.Contains(pr.text, "status of "+status)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, pr := range b.problems {
		if !expected(pr) {
			t.Errorf("%s: %s: %s (%s)", name, pr.source, pr.text, pr.url)
		}
	}
	return p
}

// checkCSPReported puts an inline style into the page, which its
// Content-Security-Policy refuses, and checks that the browser's log
// reports the refusal: without that, "no violation" would prove nothing.
func (b *browser) checkCSPReported(t *testing.T) {
	t.Helper()
	b.forget()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.head.appendChild(document.createElement("style")).textContent = "body { color: red }"`)); err != nil {
		t.Fatal(err)
	}
	reported := func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return slices.ContainsFunc(b.problems, func(p problem) bool {
			return p.source == string(log.EntrySourceSecurity) && strings.Contains(p.text, "Content Security Policy")
		})
	}
	if !testkit.Eventually(5*time.Second, reported) {
		t.Errorf("an inline style was put into the page, and no Content-Security-Policy violation was reported; logged: %+v", b.problems)
	}
}

// viewport sets the tab's size in CSS pixels, as a phone's or a desktop's.
func (b *browser) viewport(t *testing.T, width, height int64) {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
}
