package bounded

import "testing"

func TestExcerpt(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"longer than that", 6, "longer…"},
		{"naïve", 3, "na…"}, // ï is two bytes: not cut in half
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := Excerpt(tt.s, tt.n); got != tt.want {
			t.Errorf("Excerpt(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
