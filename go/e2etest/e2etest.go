// Package e2etest holds what the end-to-end tests (//compose, //k8s) check
// of a running system from outside: the page and its books.
package e2etest

import (
	"context"
	"html"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/onlinebooks/bookstore/go/marketplace"
	"github.com/onlinebooks/bookstore/go/recommendations"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

var item = regexp.MustCompile(`<li>([^<]*)`)

// Get fetches url with a 5 s timeout; a failed request is status 0 with the
// error as body.
func Get(url string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// HealthCheck calls grpc.health.v1.Health/Check at addr in plaintext, as a
// probe does, within 5 s: the status it reports and the call's code.
func HealthCheck(t testing.TB, addr string) (healthpb.HealthCheckResponse_ServingStatus, codes.Code) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return resp.GetStatus(), status.Code(err)
}

// Eventually reports whether ok held within limit, asking every 200 ms.
func Eventually(limit time.Duration, ok func() bool) bool {
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

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
	code, body := Get(base + "/?category=mystery")
	if code != http.StatusOK {
		t.Fatalf("page: got status %d:\n%s", code, body)
	}
	if why := MysteryBooks(body); why != "" {
		t.Fatalf("page: %s:\n%s", why, body)
	}
}
