// Package e2e holds what the end-to-end tests (//compose, //k8s, the
// emulated images) check of a running system from outside: the page and
// its books.
package e2e

import (
	"html"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onlinebooks/bookstore/go/marketplace"
	"github.com/onlinebooks/bookstore/go/recommendations"
	"github.com/onlinebooks/bookstore/go/testkit"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

var item = regexp.MustCompile(`<li>([^<]*)`)

// MysteryBooks reports why a page body is not a full mystery page (three
// mystery books of the catalogue, no unavailable notice), or "" when it is.
func MysteryBooks(body string) string {
	books, err := recommendations.DefaultCatalog().Books(pb.BookCategory_BOOK_CATEGORY_MYSTERY)
	if err != nil {
		return err.Error()
	}
	if strings.Contains(body, marketplace.UnavailableNotice) {
		return "the page says recommendations are unavailable"
	}
	items := item.FindAllStringSubmatch(body, -1)
	if len(items) != 3 {
		return "the page lists " + strconv.Itoa(len(items)) + " books, want 3"
	}
	for _, it := range items {
		title := strings.TrimSpace(html.UnescapeString(it[1]))
		if !slices.ContainsFunc(books, func(b *pb.Book) bool { return b.GetTitle() == title }) {
			return "the page lists " + title + ", which is not a mystery book of the catalogue"
		}
	}
	return ""
}

// CheckBooks fails the test unless base's mystery page is full (MysteryBooks).
func CheckBooks(t testing.TB, base string) {
	t.Helper()
	code, body := testkit.Get(base + "/?category=mystery")
	if code != http.StatusOK {
		t.Fatalf("page: got status %d:\n%s", code, body)
	}
	if why := MysteryBooks(body); why != "" {
		t.Fatalf("page: %s:\n%s", why, body)
	}
}
