package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadLabels(t *testing.T) {
	tests := []struct {
		labels              string
		wantSource, wantRev string
		wantErr             bool
	}{
		{
			labels:     "org.opencontainers.image.title=recommendations\norg.opencontainers.image.source=https://github.com/onlinebooks/bookstore\norg.opencontainers.image.revision=0123456789abcdef0123456789abcdef01234567-dirty\n",
			wantSource: "git+https://github.com/onlinebooks/bookstore",
			wantRev:    "0123456789abcdef0123456789abcdef01234567-dirty",
		},
		{labels: "org.opencontainers.image.source=https://github.com/onlinebooks/bookstore\n", wantErr: true},
		{labels: "", wantErr: true},
	}
	for _, tt := range tests {
		file := filepath.Join(t.TempDir(), "labels.txt")
		if err := os.WriteFile(file, []byte(tt.labels), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readLabels(file)
		if (err != nil) != tt.wantErr || got.Source != tt.wantSource || got.Revision != tt.wantRev {
			t.Errorf("readLabels(%q) = %+v, %v; want source %q, revision %q, error %v", tt.labels, got, err, tt.wantSource, tt.wantRev, tt.wantErr)
		}
	}
}
