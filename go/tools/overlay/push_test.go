package overlay

import "testing"

func TestPushedDigest(t *testing.T) {
	const repo = "127.0.0.1:5005/bookstore/recommendations"
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		out, want string
		wantErr   bool
	}{
		{out: repo + "@" + digest + "\n", want: digest},
		{out: "tagged " + repo + ":dev\n" + repo + "@" + digest + "\n", want: digest},
		{out: "", wantErr: true},
		{out: "other.example/bookstore/recommendations@" + digest, wantErr: true},
		{out: repo + ":dev", wantErr: true},
	}
	for _, tt := range tests {
		got, err := pushedDigest(tt.out, repo)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("pushedDigest(%q): got %q, %v; want %q, error %v", tt.out, got, err, tt.want, tt.wantErr)
		}
	}
}
