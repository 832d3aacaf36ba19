// Package supplychain tests what the build says of the images and what
// their push targets put beside them: each image's SBOM against go.mod and
// the image itself, and the signatures and attestations of the real push
// targets, verified with //certs' key and refused with another.
package supplychain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/bazelbuild/rules_go/go/runfiles"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/mod/modfile"

	"github.com/onlinebooks/bookstore/go/tools/attest"
	"github.com/onlinebooks/bookstore/go/tools/ocipush"
	"github.com/onlinebooks/bookstore/go/tools/ociregistry"
)

var services = []string{"marketplace", "recommendations"}

// TestSBOM checks each image's SBOM: it describes that image (its digest
// in the index), lists grpc-go and protobuf-go at go.mod's versions as
// modules of the binary, and the base's CA bundle with its hash and the
// module it comes from.
func TestSBOM(t *testing.T) {
	gomod := readGoMod(t)
	version := func(path string) string { return required(t, gomod, path) }
	bundle := sha256.Sum256(read(t, "CA_BUNDLE"))
	for _, service := range services {
		list := imageIndex(t, rlocation(t, env(service, "IMAGE")))
		for _, arch := range []string{"amd64", "arm64"} {
			t.Run(service+"/"+arch, func(t *testing.T) {
				var bom cdx.BOM
				doc := read(t, env(service, "SBOM_"+arch))
				if err := cdx.NewBOMDecoder(strings.NewReader(string(doc)), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
					t.Fatal(err)
				}
				if bom.Metadata == nil || bom.Metadata.Component == nil || bom.Components == nil || bom.Dependencies == nil {
					t.Fatalf("the SBOM lacks its metadata component, components or dependencies:\n%s", doc)
				}
				var digest string
				for _, d := range list.Manifests {
					if d.Platform != nil && d.Platform.Architecture == arch {
						digest = d.Digest.String()
					}
				}
				if got := bom.Metadata.Component; got.Version != digest || got.Name != "bookstore/"+service || got.Type != cdx.ComponentTypeContainer {
					t.Errorf("the SBOM describes %s %s@%s, want the container bookstore/%s@%s (the index's %s image)", got.Type, got.Name, got.Version, service, digest, arch)
				}
				components := make(map[string]cdx.Component)
				for _, c := range *bom.Components {
					components[c.Name] = c
				}
				for _, mod := range []string{"google.golang.org/grpc", "google.golang.org/protobuf"} {
					want := version(mod)
					c, ok := components[mod]
					switch {
					case !ok:
						t.Errorf("no component %s", mod)
					case c.Version != want || c.PackageURL != fmt.Sprintf("pkg:golang/%s@%s?type=module", mod, want):
						t.Errorf("%s: version %s, purl %s; want %s (go.mod)", mod, c.Version, c.PackageURL, want)
					}
				}
				binary := "/usr/local/bin/" + service
				if !dependsOn(bom, "file:"+binary, "pkg:golang/google.golang.org/grpc@"+version("google.golang.org/grpc")+"?type=module") {
					t.Errorf("the SBOM does not say that %s links grpc-go", binary)
				}
				ca, ok := components["/etc/ssl/certs/ca-certificates.crt"]
				if !ok {
					t.Fatal("no component /etc/ssl/certs/ca-certificates.crt (the base's CA bundle)")
				}
				if want := hex.EncodeToString(bundle[:]); ca.Hashes == nil || len(*ca.Hashes) != 1 || (*ca.Hashes)[0].Value != want {
					t.Errorf("the CA bundle's hashes: %v, want its SHA-256 %s (//tools/oci:ca_certificates)", ca.Hashes, want)
				}
				const roots = "golang.org/x/crypto/x509roots/fallback"
				if ca.Pedigree == nil || ca.Pedigree.Ancestors == nil || len(*ca.Pedigree.Ancestors) != 1 ||
					(*ca.Pedigree.Ancestors)[0].Name != roots || (*ca.Pedigree.Ancestors)[0].Version != version(roots) {
					t.Errorf("the CA bundle's pedigree: %+v, want %s@%s", ca.Pedigree, roots, version(roots))
				}
			})
		}
	}
}

// TestPush runs each service's push target against a registry of the
// test's own: what it pushes verifies with //certs:image_signing.pub, and
// not with another key; what the unsigned oci_push pushes does not verify.
// Each is checked twice: by go/tools/attest, and by //go/cmd/verify's
// binary, as a user checks an image by hand.
func TestPush(t *testing.T) {
	grpc := "google.golang.org/grpc " + required(t, readGoMod(t), "google.golang.org/grpc")
	srv := httptest.NewServer(ociregistry.New(log.New(io.Discard, "", 0)))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	root, err := ocipush.RunfilesRoot()
	if err != nil {
		t.Fatal(err)
	}
	verifier := func(key string) *attest.Verifier {
		k, err := attest.LoadPublicKey(rlocation(t, key))
		if err != nil {
			t.Fatal(err)
		}
		v, err := attest.NewVerifier(k)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	verifiers := map[string]*attest.Verifier{"PUBLIC_KEY": verifier("PUBLIC_KEY"), "OTHER_PUBLIC_KEY": verifier("OTHER_PUBLIC_KEY")}
	for _, service := range services {
		for _, tt := range []struct {
			name   string
			target string // the environment variable that names it
			key    string // the environment variable that names the public key
			want   string // in the error; "" for verified
		}{
			{name: "signed", target: "PUSH", key: "PUBLIC_KEY"},
			{name: "signed-by-another-key", target: "PUSH", key: "OTHER_PUBLIC_KEY", want: "no signature made with the key (the registry holds 1 for sha256:"},
			{name: "unsigned", target: "PUSH_UNSIGNED", key: "PUBLIC_KEY", want: "no signature made with the key (the registry holds none for sha256:"},
		} {
			t.Run(service+"/"+tt.name, func(t *testing.T) {
				// A repository for each case: the unsigned push must not
				// find the signed push's signatures.
				repo := fmt.Sprintf("%s/%s/bookstore/%s", host, tt.name, service)
				script := rlocation(t, env(service, tt.target))
				ref, err := ocipush.Push(t.Context(), script, root, "--repository", repo)
				if err != nil {
					t.Fatal(err)
				}
				if want := read(t, env(service, "DIGEST")); ref.DigestStr() != strings.TrimSpace(string(want)) || ref.Context().Name() != repo {
					t.Fatalf("pushed %s, want %s@%s", ref, repo, want)
				}
				got, err := verifiers[tt.key].Check(t.Context(), ref)
				switch {
				case tt.want == "" && err != nil:
					t.Fatalf("Check: %v, want verified", err)
				case tt.want == "" && strings.Join(got.Platforms, " ") != "linux/amd64 linux/arm64/v8":
					t.Errorf("Check: verified SBOMs of %v, want linux/amd64 and linux/arm64/v8", got.Platforms)
				case tt.want != "" && err == nil:
					t.Fatalf("Check: verified, want refused with %q", tt.want)
				case tt.want != "" && !strings.Contains(err.Error(), tt.want):
					t.Errorf("Check: %v\nwant it refused with %q", err, tt.want)
				case tt.want != "":
					t.Logf("refused: %v", err)
				}

				out, err := exec.CommandContext(t.Context(), rlocation(t, "VERIFY"), "--sbom", "--key="+rlocation(t, tt.key), ref.String()).Output()
				var exit *exec.ExitError
				switch {
				case tt.want == "" && err != nil:
					t.Errorf("verify: %v, want exit 0; it wrote:\n%s", err, out)
				case tt.want == "":
					for _, line := range []string{ref.String() + ": verified: signature, provenance, an SBOM of each image", "linux/amd64: sha256:", "linux/arm64/v8: sha256:", grpc} {
						if !strings.Contains(string(out), line) {
							t.Errorf("verify wrote:\n%s\nwant a line with %q", out, line)
						}
					}
				case !errors.As(err, &exit) || exit.ExitCode() != 1:
					t.Errorf("verify: %v, want exit 1; it wrote:\n%s", err, out)
				case !strings.Contains(string(out), tt.want) || !strings.Contains(string(exit.Stderr), "1 of 1 images fail verification"):
					t.Errorf("verify wrote:\n%s%s\nwant it refused with %q", out, exit.Stderr, tt.want)
				}
			})
		}
	}
}

func dependsOn(bom cdx.BOM, ref, on string) bool {
	for _, d := range *bom.Dependencies {
		if d.Ref == ref && d.Dependencies != nil {
			for _, o := range *d.Dependencies {
				if o == on {
					return true
				}
			}
		}
	}
	return false
}

// required is the version of path that go.mod requires.
func required(t *testing.T, gomod *modfile.File, path string) string {
	t.Helper()
	for _, r := range gomod.Require {
		if r.Mod.Path == path {
			return r.Mod.Version
		}
	}
	t.Fatalf("go.mod requires no %s", path)
	return ""
}

func readGoMod(t *testing.T) *modfile.File {
	t.Helper()
	f, err := modfile.Parse("go.mod", read(t, "GO_MOD"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// imageIndex reads the image index of an oci_image_index's layout, whose
// index.json names it. By hand: go-containerregistry refuses to read a
// blob through a symlink, and runfiles are symlinks.
func imageIndex(t *testing.T, dir string) v1.IndexManifest {
	t.Helper()
	var top, index v1.IndexManifest
	for _, step := range []struct {
		file string
		into *v1.IndexManifest
	}{
		{"index.json", &top},
		{"", &index},
	} {
		file := step.file
		if file == "" {
			if len(top.Manifests) != 1 {
				t.Fatalf("%s/index.json lists %d manifests, want the image index", dir, len(top.Manifests))
			}
			file = filepath.Join("blobs", top.Manifests[0].Digest.Algorithm, top.Manifests[0].Digest.Hex)
		}
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, step.into); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	return index
}

// env is the variable of a service's file: MARKETPLACE_IMAGE, say.
func env(service, file string) string {
	return strings.ToUpper(service + "_" + file)
}

// rlocation is the file whose runfiles path the variable v holds (the
// BUILD file's env).
func rlocation(t *testing.T, v string) string {
	t.Helper()
	p, err := runfiles.Rlocation(os.Getenv(v))
	if err != nil {
		t.Fatalf("%s: %v", v, err)
	}
	return p
}

// read reads the file of the variable v.
func read(t *testing.T, v string) []byte {
	t.Helper()
	b, err := os.ReadFile(rlocation(t, v))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
