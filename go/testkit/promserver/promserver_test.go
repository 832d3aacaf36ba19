package promserver

import "testing"

func TestShorten(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "windows",
			in:   `expr: sum(rate(a[5m])) / sum(rate(b[1h])) > sum(rate(c[3d]))`,
			want: `expr: sum(rate(a[5s])) / sum(rate(b[1m])) > sum(rate(c[1h12m]))`,
		},
		{
			name: "for",
			in:   "  - alert: A\n    for: 2m\n    labels: {}\n",
			want: "  - alert: A\n    for: 2s\n    labels: {}\n",
		},
		{
			name: "text that is no duration",
			in:   "summary: for: 2m of [the] page\n",
			want: "summary: for: 2m of [the] page\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Shorten([]byte(tt.in), 60)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Shorten(%q, 60):\ngot  %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
