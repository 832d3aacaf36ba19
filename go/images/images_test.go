// Package images_test checks the built container images without Docker: it
// reads the OCI layouts that Bazel made and walks every layer.
package images_test

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bazelbuild/rules_go/go/runfiles"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// maxCompressedSize is the images' size budget: what a registry stores and
// a node pulls.
const maxCompressedSize = 20 << 20

// serviceImage is one service's image and what the build says about it.
type serviceImage struct {
	service    string
	entrypoint string
	ports      []string
	env        string // environment variable with the rlocation of the image's files
}

var services = []serviceImage{
	{"recommendations", "/usr/local/bin/recommendations", []string{"50051/tcp", "50052/tcp"}, "RECOMMENDATIONS"},
	{"marketplace", "/usr/local/bin/marketplace", []string{"5000/tcp", "5001/tcp"}, "MARKETPLACE"},
}

func TestServiceImages(t *testing.T) {
	for _, svc := range services {
		t.Run(svc.service, func(t *testing.T) {
			img := readImage(t, svc.env+"_IMAGE")
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			files := walk(t, img)

			if got, want := cf.Config.Entrypoint, []string{svc.entrypoint}; !slices.Equal(got, want) {
				t.Errorf("entrypoint: got %q, want %q", got, want)
			}
			if f, ok := files[strings.TrimPrefix(svc.entrypoint, "/")]; !ok {
				t.Errorf("no file at the entrypoint %s", svc.entrypoint)
			} else {
				if f.Typeflag != tar.TypeReg || f.Mode&0o111 == 0 || f.Uid != 0 || f.Mode&0o222 != 0 {
					t.Errorf("entrypoint %s: type %c, mode %o, uid %d; want a root-owned, read-only executable", svc.entrypoint, f.Typeflag, f.Mode, f.Uid)
				}
				if got, want := elfMachine(t, f.body), machines[cf.Architecture]; got != want {
					t.Errorf("entrypoint %s: ELF machine %v, want %v for a %s/%s image", svc.entrypoint, got, want, cf.OS, cf.Architecture)
				}
			}
			if uid := userID(t, cf.Config.User); uid == 0 {
				t.Errorf("user %q runs as root", cf.Config.User)
			}
			for _, p := range svc.ports {
				if _, ok := cf.Config.ExposedPorts[p]; !ok {
					t.Errorf("port %s not exposed: %v", p, cf.Config.ExposedPorts)
				}
			}
			for _, l := range []string{"title", "source", "version", "revision"} {
				if v := cf.Config.Labels["org.opencontainers.image."+l]; v == "" || v == "unknown" {
					t.Errorf("label org.opencontainers.image.%s: got %q", l, v)
				}
			}
			if got := cf.Config.Labels["org.opencontainers.image.title"]; got != svc.service {
				t.Errorf("title label: got %q, want %q", got, svc.service)
			}

			// The rules_oci .digest output names the layout's image.
			// (Reproducibility across builds is tools/reproducible's.)
			digest := mustDigest(t, img)
			if got := strings.TrimSpace(readRunfile(t, svc.env+"_DIGEST")); got != digest.String() {
				t.Errorf("image.digest: got %s, want %s", got, digest)
			}

			// Each layer says which target made it, as rules_oci writes
			// the history: the base's, then the service's.
			var history []string
			for _, h := range cf.History {
				history = append(history, h.CreatedBy)
			}
			if want := []string{"bazel build //tools/oci:rootfs", "bazel build //go/cmd/" + svc.service + ":image_layer"}; !slices.Equal(history, want) {
				t.Errorf("history: got %q, want %q", history, want)
			}

			// oci_load's tarball is a docker-archive of the same image.
			tag, err := name.NewTag("bookstore/" + svc.service + ":dev")
			if err != nil {
				t.Fatal(err)
			}
			fromTar, err := tarball.ImageFromPath(rlocation(t, svc.env+"_TARBALL"), &tag)
			if err != nil {
				t.Fatalf("docker-archive: %v", err)
			}
			if got, want := mustConfigName(t, fromTar), mustConfigName(t, img); got != want {
				t.Errorf("docker-archive config: got %s, want %s", got, want)
			}

			// Layers are stored as the BUILD files make them: gzipped.
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range m.Layers {
				if got, want := string(l.MediaType), "application/vnd.oci.image.layer.v1.tar+gzip"; got != want {
					t.Errorf("layer %d: media type %s, want %s", i, got, want)
				}
			}

			compressed, uncompressed := sizes(t, img)
			t.Logf("%s: %s, %.1f MiB compressed, %.1f MiB uncompressed", svc.service, digest, mib(compressed), mib(uncompressed))
			if compressed > maxCompressedSize {
				t.Errorf("compressed size %.1f MiB, budget %.0f MiB", mib(compressed), mib(maxCompressedSize))
			}
		})
	}
}

// TestNothingSecretNorShell covers every image, the base included: no
// private key and no shell may ship in any layer.
func TestNothingSecretNorShell(t *testing.T) {
	for _, env := range []string{"BASE_IMAGE", "RECOMMENDATIONS_IMAGE", "MARKETPLACE_IMAGE"} {
		t.Run(env, func(t *testing.T) {
			for path, f := range walk(t, readImage(t, env)) {
				if problem := forbidden(path, f); problem != "" {
					t.Errorf("%s: %s", path, problem)
				}
			}
		})
	}
}

func TestForbidden(t *testing.T) {
	reg := func(body string) file { return file{Header: tar.Header{Typeflag: tar.TypeReg}, body: []byte(body)} }
	tests := []struct {
		path string
		f    file
		want bool
	}{
		{"usr/local/bin/recommendations", reg("\x7fELF..."), false},
		{"etc/ssl/certs/ca-certificates.crt", reg("-----BEGIN CERTIFICATE-----"), false},
		{"etc/tls/server.key", reg("anything"), true},
		{"app/config", reg("-----BEGIN EC PRIVATE KEY-----\n"), true},
		{"app/config", reg("-----BEGIN PRIVATE KEY-----\n"), true},
		{"bin/sh", reg("\x7fELF"), true},
		{"usr/bin/bash", reg("\x7fELF"), true},
		{"bin/busybox", reg("\x7fELF"), true},
		{"bin/sh", file{Header: tar.Header{Typeflag: tar.TypeSymlink, Linkname: "busybox"}}, true},
	}
	for _, tt := range tests {
		if got := forbidden(tt.path, tt.f) != ""; got != tt.want {
			t.Errorf("forbidden(%q): got %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestBase(t *testing.T) {
	files := walk(t, readImage(t, "BASE_IMAGE"))
	tests := []struct {
		path string
		typ  byte
		mode int64
		uid  int
	}{
		{"etc/passwd", tar.TypeReg, 0o644, 0},
		{"etc/group", tar.TypeReg, 0o644, 0},
		{"etc/nsswitch.conf", tar.TypeReg, 0o644, 0},
		{"etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0o644, 0},
		{"tmp", tar.TypeDir, 0o1777, 0},
		{"home/nonroot", tar.TypeDir, 0o700, 65532},
	}
	for _, tt := range tests {
		f, ok := files[tt.path]
		if !ok {
			t.Errorf("%s: missing", tt.path)
			continue
		}
		mode := f.Mode & 0o7777
		if f.FileInfo().Mode()&fs.ModeSticky != 0 {
			mode |= 0o1000
		}
		if f.Typeflag != tt.typ || mode != tt.mode || f.Uid != tt.uid {
			t.Errorf("%s: got type %c mode %o uid %d, want %c %o %d", tt.path, f.Typeflag, mode, f.Uid, tt.typ, tt.mode, tt.uid)
		}
	}
	if !strings.Contains(string(files["etc/passwd"].body), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot user 65532:\n%s", files["etc/passwd"].body)
	}
	if !strings.Contains(string(files["etc/group"].body), "nonroot:x:65532:") {
		t.Errorf("/etc/group has no nonroot group 65532:\n%s", files["etc/group"].body)
	}
	roots := 0
	for rest := files["etc/ssl/certs/ca-certificates.crt"].body; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Errorf("CA bundle: certificate %d: %v", roots+1, err)
		}
		roots++
	}
	if roots < 100 {
		t.Errorf("the CA bundle has %d roots; Mozilla's store has over 100", roots)
	}
}

// forbidden says why a file must not ship in an image, or "".
func forbidden(path string, f file) string {
	base := filepath.Base(path)
	switch {
	case strings.HasSuffix(base, ".key"):
		return "a .key file"
	case bytes.Contains(f.body, []byte("PRIVATE KEY-----")):
		return "holds a PEM private key"
	}
	for _, sh := range []string{"sh", "bash", "dash", "ash", "zsh", "busybox"} {
		if base == sh {
			return "a shell"
		}
	}
	return ""
}

type file struct {
	tar.Header
	body []byte
}

// walk returns the image's filesystem: every layer applied in order, later
// entries replacing earlier ones.
func walk(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]file{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[strings.Trim(filepath.Clean(h.Name), "/.")] = file{Header: *h, body: body}
		}
		rc.Close()
	}
	return files
}

func sizes(t *testing.T, img v1.Image) (compressed, uncompressed int64) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	compressed = m.Config.Size
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		compressed += m.Layers[i].Size
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		uncompressed += n
	}
	return compressed, uncompressed
}

// TestLayerListings holds every layer's entries to a listing in testdata:
// what rules_pkg's pkg_tar writes for these BUILD files, the same under
// Debian's rules_pkg 0.9.1 offline and the registry's 1.0.1 online. Both
// add each file's missing parents as 0755 directories with the file's
// owner and mtime, and stamp every entry with the portable mtime
// (2000-01-01); a change in either shows up here as a diff.
func TestLayerListings(t *testing.T) {
	for _, tt := range []struct{ env, layer, listing string }{
		{"BASE_IMAGE", "rootfs", "testdata/rootfs.listing"},
		{"RECOMMENDATIONS_IMAGE", "recommendations", "testdata/recommendations_layer.listing"},
		{"MARKETPLACE_IMAGE", "marketplace", "testdata/marketplace_layer.listing"},
	} {
		t.Run(tt.layer, func(t *testing.T) {
			layers, err := readImage(t, tt.env).Layers()
			if err != nil {
				t.Fatal(err)
			}
			got := listing(t, layers[len(layers)-1])
			want, err := os.ReadFile(tt.listing)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("layer entries differ from %s:\ngot:\n%s\nwant:\n%s", tt.listing, got, want)
			}
		})
	}
}

// listing is one line per tar entry, in order: type, mode, owner ids and
// names, mtime and name.
func listing(t *testing.T, l v1.Layer) string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b strings.Builder
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return b.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%c %04o %d:%d %q:%q %d %s\n", h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime.Unix(), h.Name)
	}
}

// machines is the ELF machine of a binary for each image architecture.
var machines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// elfMachine is the machine a binary is built for, whatever the host that
// built it.
func elfMachine(t *testing.T, b []byte) elf.Machine {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	return f.Machine
}

// userID is the numeric user of an image config's "user[:group]".
func userID(t *testing.T, user string) int {
	t.Helper()
	u, _, _ := strings.Cut(user, ":")
	if u == "" || u == "root" {
		return 0
	}
	id, err := strconv.Atoi(u)
	if err != nil {
		t.Fatalf("user %q is not numeric; Kubernetes' runAsNonRoot can only check a numeric user", user)
	}
	return id
}

// readImage opens the oci_image layout named by an environment variable.
// go-containerregistry refuses to read blobs through symlinks, which is what
// a runfiles tree is made of, so the layout is copied first.
func readImage(t *testing.T, env string) v1.Image {
	t.Helper()
	src := rlocation(t, env)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(dst)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("%s: %d manifests, want 1", env, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func rlocation(t *testing.T, env string) string {
	t.Helper()
	p, err := runfiles.Rlocation(os.Getenv(env))
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return p
}

func readRunfile(t *testing.T, env string) string {
	t.Helper()
	b, err := os.ReadFile(rlocation(t, env))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustConfigName(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
