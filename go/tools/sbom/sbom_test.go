package sbom

import (
	"fmt"
	"testing"

	"golang.org/x/mod/modfile"
)

const gomod = `module example.com/shop

go 1.26

require (
	google.golang.org/grpc v1.85.0
	google.golang.org/grpc/security/advancedtls v1.0.0
	golang.org/x/net v0.60.0
	example.org/forked v1.0.0
)

replace example.org/forked => example.org/fork v1.2.0
`

func TestLinked(t *testing.T) {
	f, err := modfile.Parse("go.mod", []byte(gomod), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		packages []string
		want     string // modules, or the error's text
	}{
		{
			name:     "the standard library and the main module are not modules of go.mod",
			packages: []string{"fmt", "net/http", "example.com/shop/internal/catalogue", "example.com/shop"},
			want:     "[]",
		},
		{
			name:     "the longest module path wins, each module once",
			packages: []string{"google.golang.org/grpc", "google.golang.org/grpc/codes", "google.golang.org/grpc/security/advancedtls", "golang.org/x/net/http2"},
			want:     "[golang.org/x/net@v0.60.0 google.golang.org/grpc@v1.85.0 google.golang.org/grpc/security/advancedtls@v1.0.0]",
		},
		{
			name:     "a replaced module is its replacement",
			packages: []string{"example.org/forked/pkg"},
			want:     "[example.org/fork@v1.2.0]",
		},
		{
			name:     "a package of no module is an error",
			packages: []string{"google.golang.org/grpc", "example.net/nowhere/pkg", "google.golang.org/grpcx"},
			want:     "no module of go.mod provides example.net/nowhere/pkg, google.golang.org/grpcx",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mods, err := linked(tt.packages, f)
			got := fmt.Sprint(mods)
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("linked(%q):\ngot  %s\nwant %s", tt.packages, got, tt.want)
			}
		})
	}
}
