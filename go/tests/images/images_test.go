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
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/onlinebooks/bookstore/go/testkit"
	"github.com/onlinebooks/bookstore/go/tools/ocilayout"
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

// platforms are the images' platforms, in the order of each service's
// index (tools/oci/image.bzl), with the ELF machine of a binary for each.
var platforms = []struct {
	platform v1.Platform
	machine  elf.Machine
}{
	{v1.Platform{OS: "linux", Architecture: "amd64"}, elf.EM_X86_64},
	{v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, elf.EM_AARCH64},
}

func TestServiceImages(t *testing.T) {
	for _, svc := range services {
		t.Run(svc.service, func(t *testing.T) {
			idx := openLayout(t, svc.env+"_IMAGE")
			// The rules_oci .digest output names the index, which is what
			// :push pushes and //k8s pins. (Reproducibility across builds
			// is tools/reproducible's.)
			digest := mustDigest(t, idx)
			if got := strings.TrimSpace(testkit.ReadRunfile(t, svc.env+"_DIGEST")); got != digest.String() {
				t.Errorf("image.digest: got %s, want %s", got, digest)
			}
			images := platformImages(t, idx)
			for _, p := range platforms {
				t.Run(p.platform.Architecture, func(t *testing.T) {
					checkServiceImage(t, svc, platformImage(t, images, p.platform), p.platform, p.machine)
				})
			}

			// oci_load's tarball is a docker-archive of the image for the
			// machine's architecture (image.bzl's native_image): this test
			// is built for the same platform as :load.
			native := "amd64"
			if runtime.GOARCH == "arm64" {
				native = "arm64"
			}
			tag, err := name.NewTag("bookstore/" + svc.service + ":dev")
			if err != nil {
				t.Fatal(err)
			}
			fromTar, err := tarball.ImageFromPath(testkit.Runfile(t, svc.env+"_TARBALL"), &tag)
			if err != nil {
				t.Fatalf("docker-archive: %v", err)
			}
			if got, want := mustConfigName(t, fromTar), mustConfigName(t, nativeImage(t, images, native)); got != want {
				t.Errorf("docker-archive config: got %s, want the linux/%s image's %s", got, native, want)
			}
		})
	}
}

// checkServiceImage holds one platform's image of a service to what the
// build says of it.
func checkServiceImage(t *testing.T, svc serviceImage, img v1.Image, p v1.Platform, machine elf.Machine) {
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.Platform(); !got.Equals(p) {
		t.Errorf("config's platform: got %s, want %s", got, p.String())
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
		if got := elfMachine(t, f.body); got != machine {
			t.Errorf("entrypoint %s: ELF machine %v, want %v for a %s image", svc.entrypoint, got, machine, p.String())
		}
	}
	if uid := userID(t, cf.Config.User); uid == 0 {
		t.Errorf("user %q runs as root", cf.Config.User)
	}
	for _, port := range svc.ports {
		if _, ok := cf.Config.ExposedPorts[port]; !ok {
			t.Errorf("port %s not exposed: %v", port, cf.Config.ExposedPorts)
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

	// Each layer says which target made it, as rules_oci writes the
	// history: the base's, then the service's.
	var history []string
	for _, h := range cf.History {
		history = append(history, h.CreatedBy)
	}
	want := []string{"bazel build //tools/oci:rootfs", fmt.Sprintf("bazel build //go/cmd/%s:image_%s_layer", svc.service, p.Architecture)}
	if !slices.Equal(history, want) {
		t.Errorf("history: got %q, want %q", history, want)
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
	t.Logf("%s %s: %s, %.1f MiB compressed, %.1f MiB uncompressed", svc.service, p.String(), imageDigest(t, img), mib(compressed), mib(uncompressed))
	if compressed > maxCompressedSize {
		t.Errorf("compressed size %.1f MiB, budget %.0f MiB", mib(compressed), mib(maxCompressedSize))
	}
}

// TestIndexes: each service's index lists exactly its two platforms, in
// order, each naming the platform its image's config says.
func TestIndexes(t *testing.T) {
	var want []string
	for _, p := range platforms {
		want = append(want, p.platform.String())
	}
	for _, svc := range services {
		_, m := index(t, openLayout(t, svc.env+"_IMAGE"))
		var got []string
		for _, d := range m.Manifests {
			if d.Platform == nil {
				t.Fatalf("%s: index entry %s names no platform", svc.service, d.Digest)
			}
			got = append(got, d.Platform.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: index lists %q, want %q", svc.service, got, want)
		}
	}
}

// TestNothingSecretNorShell covers every image, the base included: no
// private key and no shell may ship in any layer.
func TestNothingSecretNorShell(t *testing.T) {
	images := map[string]v1.Image{"base_amd64": readImage(t, "BASE_AMD64"), "base_arm64": readImage(t, "BASE_ARM64")}
	for _, svc := range services {
		for p, img := range platformImages(t, openLayout(t, svc.env+"_IMAGE")) {
			images[svc.service+" "+p] = img
		}
	}
	for name, img := range images {
		t.Run(name, func(t *testing.T) {
			for path, f := range walk(t, img) {
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

// TestBase: both bases (tools/oci) have the same files, each for its
// platform.
func TestBase(t *testing.T) {
	for _, p := range platforms {
		env := "BASE_" + strings.ToUpper(p.platform.Architecture)
		t.Run(p.platform.Architecture, func(t *testing.T) {
			img := readImage(t, env)
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if got := cf.Platform(); !got.Equals(p.platform) {
				t.Errorf("platform: got %s, want %s", got, p.platform.String())
			}
			checkBaseFiles(t, walk(t, img))
		})
	}
}

func checkBaseFiles(t *testing.T, files map[string]file) {
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
	tests := []struct{ name, listing string }{
		{"base_amd64", "testdata/rootfs.listing"},
		{"base_arm64", "testdata/rootfs.listing"},
	}
	images := map[string]v1.Image{"base_amd64": readImage(t, "BASE_AMD64"), "base_arm64": readImage(t, "BASE_ARM64")}
	for _, svc := range services {
		byPlatform := platformImages(t, openLayout(t, svc.env+"_IMAGE"))
		for _, p := range platforms {
			image := svc.service + "_" + p.platform.Architecture
			images[image] = platformImage(t, byPlatform, p.platform)
			tests = append(tests, struct{ name, listing string }{image, "testdata/" + svc.service + "_layer.listing"})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layers, err := images[tt.name].Layers()
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

// openLayout opens the OCI layout named by an environment variable, copied
// out of the runfiles tree (go/tools/ocilayout says why).
func openLayout(t *testing.T, env string) v1.ImageIndex {
	t.Helper()
	dst := t.TempDir()
	if err := ocilayout.Copy(dst, testkit.Runfile(t, env)); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(dst)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// only is the one manifest of a layout that rules_oci made: an image, or an
// image index.
func only(t *testing.T, layout v1.ImageIndex) v1.Descriptor {
	t.Helper()
	m, err := layout.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("%d manifests in the layout, want 1", len(m.Manifests))
	}
	return m.Manifests[0]
}

// readImage opens the oci_image layout named by an environment variable.
func readImage(t *testing.T, env string) v1.Image {
	t.Helper()
	layout := openLayout(t, env)
	img, err := layout.Image(only(t, layout).Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// mustDigest is the digest of the index in an oci_image_index layout.
func mustDigest(t *testing.T, layout v1.ImageIndex) v1.Hash {
	t.Helper()
	d := only(t, layout)
	if !d.MediaType.IsIndex() {
		t.Fatalf("the layout holds a %s, want an image index", d.MediaType)
	}
	return d.Digest
}

// index is the image index of an oci_image_index layout, and its manifest.
func index(t *testing.T, layout v1.ImageIndex) (v1.ImageIndex, *v1.IndexManifest) {
	t.Helper()
	idx, err := layout.ImageIndex(mustDigest(t, layout))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return idx, m
}

// platformImages are the images of an oci_image_index layout's index, by
// platform ("linux/arm64/v8").
func platformImages(t *testing.T, layout v1.ImageIndex) map[string]v1.Image {
	t.Helper()
	idx, m := index(t, layout)
	images := map[string]v1.Image{}
	for _, d := range m.Manifests {
		if d.Platform == nil {
			t.Fatalf("index entry %s names no platform", d.Digest)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		images[d.Platform.String()] = img
	}
	return images
}

// platformImage is the image for p among images, which must have one.
func platformImage(t *testing.T, images map[string]v1.Image, p v1.Platform) v1.Image {
	t.Helper()
	img, ok := images[p.String()]
	if !ok {
		t.Fatalf("no image for %s in the index", p.String())
	}
	return img
}

// nativeImage is the image for linux/arch among images.
func nativeImage(t *testing.T, images map[string]v1.Image, arch string) v1.Image {
	t.Helper()
	for _, p := range platforms {
		if p.platform.Architecture == arch {
			return platformImage(t, images, p.platform)
		}
	}
	t.Fatalf("no platform for %s", arch)
	return nil
}

func imageDigest(t *testing.T, img v1.Image) v1.Hash {
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
