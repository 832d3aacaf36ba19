package kubedeploy

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const twoContainers = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers: [{name: migrate, image: shop/db}]
      containers: [{name: web, image: shop/web}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
`

const (
	webDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	dbDigest  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func images(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	var got []string
	for _, field := range []string{"initContainers", "containers"} {
		cs, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "template", "spec", field)
		for _, c := range cs {
			got = append(got, c.(map[string]any)["image"].(string))
		}
	}
	return got
}

func TestPinImages(t *testing.T) {
	tests := []struct {
		name    string
		images  []Image
		want    []string
		wantErr string
	}{
		{
			name:   "every container pinned",
			images: []Image{{"shop/web", webDigest}, {"shop/db", dbDigest}},
			want:   []string{"127.0.0.1:5005/shop/db@" + dbDigest, "127.0.0.1:5005/shop/web@" + webDigest},
		},
		{name: "a container's image not built", images: []Image{{"shop/web", webDigest}}, wantErr: `"shop/db" is not one of the built images`},
		{name: "a built image not deployed", images: []Image{{"shop/web", webDigest}, {"shop/db", dbDigest}, {"shop/cache", webDigest}}, wantErr: `"shop/cache" is used by no container`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode(strings.NewReader(twoContainers))
			if err != nil {
				t.Fatal(err)
			}
			err = PinImages(objs, "127.0.0.1:5005/", tt.images)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("PinImages: got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := images(t, objs); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("images: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecode_Errors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", "kind"},
		{"no name", "apiVersion: v1\nkind: Service\n", "metadata.name"},
		{"not YAML", "apiVersion: [v1\n", "object 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(strings.NewReader(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode: got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// What Encode writes, Decode reads back whole; a Secret keeps its files.
func TestEncode_RoundTrip(t *testing.T) {
	objs, err := Decode(strings.NewReader(twoContainers))
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, TLSSecret("shop", "web-tls", []byte("CERT\n"), []byte("KEY\n"), []byte("CA\n")))
	var buf bytes.Buffer
	if err := Encode(&buf, objs); err != nil {
		t.Fatal(err)
	}
	back, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(objs) {
		t.Fatalf("decoded %d objects, want %d", len(back), len(objs))
	}
	files, _, _ := unstructured.NestedStringMap(back[2].Object, "stringData")
	if got, want := files["tls.key"], "KEY\n"; got != want {
		t.Errorf("secret's tls.key: got %q, want %q", got, want)
	}
	if got, want := back[2].Object["type"], "kubernetes.io/tls"; got != want {
		t.Errorf("secret's type: got %v, want %q", got, want)
	}
}

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
