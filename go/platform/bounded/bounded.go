// Package bounded keeps what outsiders can influence within bounds: what
// they chose (an address, a method name, an error that quotes a header),
// cut to a size fit for a page or a log record; the work they ask for,
// capped in flight.
package bounded

import "unicode/utf8"

// Excerpt is s cut to at most n bytes, at a character boundary, marked
// with "…" when cut.
func Excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
