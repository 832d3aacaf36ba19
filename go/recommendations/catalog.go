package recommendations

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/onlinebooks/bookstore/go/platform/domainerr"
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// defaultCatalog is the seed's nine books in three categories, plus more
// real titles so that recommendations vary from call to call.
//
//go:embed catalog.json
var defaultCatalog []byte

// Catalog is the set of books recommendations are drawn from, by category.
// It is read-only after loading, so any number of calls may share it.
type Catalog struct {
	byCategory map[pb.BookCategory][]*pb.Book
}

// catalogFile is the JSON form of a catalogue; categories are spelled as the
// enum values without their BOOK_CATEGORY_ prefix, e.g. "MYSTERY".
type catalogFile struct {
	Books []struct {
		ID       int64  `json:"id"`
		Title    string `json:"title"`
		Author   string `json:"author"`
		Category string `json:"category"`
	} `json:"books"`
}

// DefaultCatalog returns the catalogue embedded in the binary.
func DefaultCatalog() *Catalog {
	c, err := ParseCatalog(bytes.NewReader(defaultCatalog))
	if err != nil {
		panic("embedded catalog.json is invalid: " + err.Error())
	}
	return c
}

// LoadCatalog reads a catalogue file; see ParseCatalog for its rules.
func LoadCatalog(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ParseCatalog(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseCatalog reads a catalogue in JSON. Every book needs a positive id of
// its own, a title and a known category; unknown fields are rejected so that
// a misspelt key is not silently ignored.
func ParseCatalog(r io.Reader) (*Catalog, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var file catalogFile
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("parsing catalog: %w", err)
	}
	if len(file.Books) == 0 {
		return nil, fmt.Errorf("catalog has no books")
	}
	c := &Catalog{byCategory: make(map[pb.BookCategory][]*pb.Book)}
	seen := make(map[int64]bool, len(file.Books))
	for i, b := range file.Books {
		category := pb.BookCategory(pb.BookCategory_value["BOOK_CATEGORY_"+b.Category])
		switch {
		case b.ID <= 0:
			return nil, fmt.Errorf("book %d: id must be positive, got %d", i, b.ID)
		case seen[b.ID]:
			return nil, fmt.Errorf("book %d: id %d is used twice", i, b.ID)
		case b.Title == "":
			return nil, fmt.Errorf("book %d (id %d): title is empty", i, b.ID)
		case category == pb.BookCategory_BOOK_CATEGORY_UNSPECIFIED:
			return nil, fmt.Errorf("book %d (id %d): unknown category %q", i, b.ID, b.Category)
		}
		seen[b.ID] = true
		c.byCategory[category] = append(c.byCategory[category], &pb.Book{
			Id: b.ID, Title: b.Title, Author: b.Author, Category: category,
		})
	}
	return c, nil
}

// Books returns the books of category. The slice and the books are shared:
// callers must not modify them.
func (c *Catalog) Books(category pb.BookCategory) ([]*pb.Book, error) {
	if category == pb.BookCategory_BOOK_CATEGORY_UNSPECIFIED {
		return nil, domainerr.InvalidArgument("category", "must be set")
	}
	books := c.byCategory[category]
	if len(books) == 0 {
		return nil, domainerr.NotFound("category %s", categoryName(category))
	}
	return books, nil
}

// categoryName names a category for messages, including values this server
// does not know (a newer client may send them).
func categoryName(c pb.BookCategory) string {
	if name, ok := pb.BookCategory_name[int32(c)]; ok {
		return name
	}
	return fmt.Sprintf("%d", int32(c))
}
