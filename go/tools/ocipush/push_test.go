package ocipush

import "testing"

func TestPushed(t *testing.T) {
	const repo = "127.0.0.1:5005/bookstore/recommendations"
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		out, want string
		wantErr   bool
	}{
		{out: repo + "@" + digest + "\n", want: repo + "@" + digest},
		{out: "tagged " + repo + ":dev\n" + repo + "@" + digest + "\n", want: repo + "@" + digest},
		{out: "", wantErr: true},
		{out: repo + ":dev", wantErr: true},
		{out: repo + "@sha256:0123", wantErr: true},
	}
	for _, tt := range tests {
		got, err := pushed(tt.out)
		if (err != nil) != tt.wantErr || (err == nil && got.String() != tt.want) {
			t.Errorf("pushed(%q): got %q, %v; want %q, error %v", tt.out, got, err, tt.want, tt.wantErr)
		}
	}
}
