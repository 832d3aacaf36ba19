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
		p := b.open(t, base+"/?category="+c.slug, "category-"+c.slug)
		p.checkLayout(t, categories)
		p.checkCategory(t, c)
	}

	// The navigation, by clicks from the homepage (the first category).
	b.open(t, base+"/", "homepage").checkCategory(t, categories[0])
	for _, c := range slices.Backward(categories) {
		p := b.click(t, fmt.Sprintf(`nav a[href="/?category=%s"]`, c.slug), "clicked-"+c.slug)
		if want := base + "/?category=" + c.slug; p.URL != want {
			t.Errorf("clicking %s: address %s, want %s", c.title, p.URL, want)
		}
		p.checkCategory(t, c)
	}

	// A phone's width: nothing scrolls sideways.
	b.viewport(t, 390, 844)
	for _, page := range []struct{ path, name string }{
		{"/", "narrow-homepage"},
		{"/?category=science-fiction", "narrow-science-fiction"},
		{"/?category=poetry", "narrow-bad-request"},
	} {
		// The 400 page's own load is the one error its console shows.
		p := b.open(t, base+page.path, page.name, base+"/?category=poetry")
		if p.ScrollWidth > p.ClientWidth {
			t.Errorf("%s at 390 px: %d px wide, scrolls sideways", page.path, p.ScrollWidth)
		}
	}
	b.viewport(t, 1280, 800)

	// The 400 page: the site's layout around the error.
	p := b.open(t, base+"/?category=poetry", "bad-request", base+"/?category=poetry")
	p.checkLayout(t, categories)
	if len(p.H1) != 1 || p.H1[0] != "Bad Request" {
		t.Errorf("400 page: headings %q, want [Bad Request]", p.H1)
	}
	if slices.ContainsFunc(p.Nav, func(l link) bool { return l.Current != "" }) {
		t.Errorf("400 page: a category marked current: %+v", p.Nav)
	}

	// Recommendations gone: the notice, and the page's navigation still there.
	recs.Terminate(15 * time.Second)
	p = b.open(t, base+"/?category=self-help", "unavailable")
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

// checkCategory checks a page of category c: its heading, three books, c's
// link the only one marked current.
func (p facts) checkCategory(t *testing.T, c category) {
	t.Helper()
	if want := c.title + " books you may like"; len(p.H1) != 1 || p.H1[0] != want {
		t.Errorf("%s: headings %q, want [%s]", p.URL, p.H1, want)
	}
	if len(p.Books) != marketplace.BooksPerPage {
		t.Errorf("%s: %d books %q, want %d", p.URL, len(p.Books), p.Books, marketplace.BooksPerPage)
	}
	for _, l := range p.Nav {
		if got, want := l.Current, map[bool]string{true: "page", false: ""}[l.Href == "/?category="+c.slug]; got != want {
			t.Errorf("%s: link %q aria-current=%q, want %q", p.URL, l.Text, got, want)
		}
	}
}

// browser is a headless Chromium with one tab, and what its pages logged.
type browser struct {
	ctx context.Context

	mu       sync.Mutex
	problems []chromedp.ConsoleMessage // errors, warnings, exceptions since the last page
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		t.Fatal("CHROMIUM names no browser (tools/test's Bazel sets it; see tools/offline.bazelrc)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		// As root in a container or chroot, Chromium's sandbox cannot
		// start; the test loads only its own pages.
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	b := &browser{ctx: ctx}
	// The console, the uncaught exceptions and the browser's log (where a
	// Content-Security-Policy violation is reported), read until the
	// browser goes.
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.problems = append(b.problems, m)
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// open loads url, saves a screenshot as name.png, and returns what the page
// shows. The page must log no error or warning; a failed load of one of
// expectedErrors (the address of a page meant to answer an error) is the
// exception.
func (b *browser) open(t *testing.T, url, name string, expectedErrors ...string) facts {
	t.Helper()
	return b.after(t, name, expectedErrors, func(ctx context.Context) error { return chromedp.Do(ctx, chromedp.Navigate(url)) })
}

// click clicks the element the CSS selector names and waits for the page it
// navigates to, as open does.
func (b *browser) click(t *testing.T, selector, name string) facts {
	t.Helper()
	return b.after(t, name, nil, func(ctx context.Context) error {
		_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
		return err
	})
}

// after runs action, within 10 s (an element that is not there fails fast),
// then reads the page, as open describes.
func (b *browser) after(t *testing.T, name string, expectedErrors []string, action func(context.Context) error) facts {
	t.Helper()
	b.mu.Lock()
	b.problems = nil
	b.mu.Unlock()
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
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.problems {
		if !slices.Contains(expectedErrors, m.URL) {
			t.Errorf("%s: console %s: %s (%s)", name, m.Type, m.Text, m.URL)
		}
	}
	return p
}

// viewport sets the tab's size in CSS pixels, as a phone's or a desktop's.
func (b *browser) viewport(t *testing.T, width, height int64) {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
}
