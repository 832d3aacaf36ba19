package marketplace

import (
	pb "github.com/onlinebooks/bookstore/proto/bookstore/recommendations/v1"
)

// Category is a category as the page shows it and as its URL names it.
type Category struct {
	Slug  string // the ?category= value
	Title string // shown in "<Title> books you may like"
	Value pb.BookCategory
}

// categories are the categories the page offers, the first being the default.
var categories = []Category{
	{Slug: "mystery", Title: "Mystery", Value: pb.BookCategory_BOOK_CATEGORY_MYSTERY},
	{Slug: "science-fiction", Title: "Science fiction", Value: pb.BookCategory_BOOK_CATEGORY_SCIENCE_FICTION},
	{Slug: "self-help", Title: "Self-help", Value: pb.BookCategory_BOOK_CATEGORY_SELF_HELP},
}

// categoryBySlug returns the category a ?category= value names.
func categoryBySlug(slug string) (Category, bool) {
	for _, c := range categories {
		if c.Slug == slug {
			return c, true
		}
	}
	return Category{}, false
}
