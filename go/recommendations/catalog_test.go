package recommendations

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onlinebooks/bookstore/go/platform/domainerr"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

func TestParseCatalog_Errors(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
	}{
		{"not json", `{"books": [`, "parsing catalog"},
		{"unknown field", `{"books": [{"id": 1, "title": "T", "category": "MYSTERY", "isbn": "x"}]}`, `unknown field "isbn"`},
		{"no books", `{"books": []}`, "no books"},
		{"zero id", `{"books": [{"id": 0, "title": "T", "category": "MYSTERY"}]}`, "id must be positive"},
		{"duplicate id", `{"books": [{"id": 1, "title": "A", "category": "MYSTERY"}, {"id": 1, "title": "B", "category": "MYSTERY"}]}`, "id 1 is used twice"},
		{"empty title", `{"books": [{"id": 1, "title": "", "category": "MYSTERY"}]}`, "title is empty"},
		{"unknown category", `{"books": [{"id": 1, "title": "T", "category": "POETRY"}]}`, `unknown category "POETRY"`},
		{"unspecified category", `{"books": [{"id": 1, "title": "T", "category": "UNSPECIFIED"}]}`, `unknown category "UNSPECIFIED"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCatalog(strings.NewReader(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDefaultCatalog_HasTheSeedBooks(t *testing.T) {
	seed := map[pb.BookCategory][]string{
		pb.BookCategory_BOOK_CATEGORY_MYSTERY:         {"The Maltese Falcon", "Murder on the Orient Express", "The Hound of the Baskervilles"},
		pb.BookCategory_BOOK_CATEGORY_SCIENCE_FICTION: {"The Hitchhiker's Guide to the Galaxy", "Ender's Game", "The Dune Chronicles"},
		pb.BookCategory_BOOK_CATEGORY_SELF_HELP:       {"The 7 Habits of Highly Effective People", "How to Win Friends and Influence People", "Man's Search for Meaning"},
	}
	c := DefaultCatalog()
	for category, titles := range seed {
		books, err := c.Books(category)
		if err != nil {
			t.Fatalf("Books(%s): %v", category, err)
		}
		have := map[string]bool{}
		for _, b := range books {
			have[b.GetTitle()] = true
			if got, want := b.GetCategory(), category; got != want {
				t.Errorf("%q: category %s, want %s", b.GetTitle(), got, want)
			}
		}
		for _, title := range titles {
			if !have[title] {
				t.Errorf("%s lacks the seed's %q", category, title)
			}
		}
	}
}

func TestLoadCatalog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(path, []byte(`{"books": [{"id": 7, "title": "Dracula", "author": "Bram Stoker", "category": "MYSTERY"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCatalog(path)
	if err != nil {
		t.Fatal(err)
	}
	books, err := c.Books(pb.BookCategory_BOOK_CATEGORY_MYSTERY)
	if err != nil || len(books) != 1 || books[0].GetTitle() != "Dracula" {
		t.Errorf("got (%v, %v), want Dracula", books, err)
	}
	if _, err := c.Books(pb.BookCategory_BOOK_CATEGORY_SELF_HELP); !errors.Is(err, domainerr.ErrNotFound) {
		t.Errorf("category without books: got %v, want ErrNotFound", err)
	}
	if _, err := LoadCatalog(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
}
