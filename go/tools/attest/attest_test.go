package attest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/onlinebooks/bookstore/go/tools/ociregistry"
)

var build = Build{
	Target:   "//go/cmd/recommendations:image",
	Source:   "git+https://github.com/onlinebooks/bookstore",
	Revision: "0123456789abcdef0123456789abcdef01234567",
	Builder:  "https://github.com/onlinebooks/bookstore/tools/bazel",
}

// TestCheck publishes an index as the push targets do, changes one thing,
// and checks what Check says.
func TestCheck(t *testing.T) {
	key, keyFile := newKey(t)
	other, _ := newKey(t)
	verifier, err := NewVerifier(&key.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// publish puts an index in the registry, and what it has
		// attached, and returns its reference.
		publish func(t *testing.T, repo name.Repository) name.Digest
		want    string // in Check's error; "" for verified
	}{
		{
			name: "published",
			publish: func(t *testing.T, repo name.Repository) name.Digest {
				ref, sboms := pushIndex(t, repo)
				publish(t, ref, sboms, key)
				return ref
			},
		},
		{
			name: "the key from its PEM file",
			publish: func(t *testing.T, repo name.Repository) name.Digest {
				loaded, err := LoadKeypair(keyFile)
				if err != nil {
					t.Fatal(err)
				}
				ref, sboms := pushIndex(t, repo)
				publish(t, ref, sboms, loaded)
				return ref
			},
		},
		{
			name: "unsigned",
			publish: func(t *testing.T, repo name.Repository) name.Digest {
				ref, _ := pushIndex(t, repo)
				return ref
			},
			want: "no signature made with the key (the registry holds none for sha256:",
		},
		{
			name: "signed by another key",
			publish: func(t *testing.T, repo name.Repository) name.Digest {
				ref, sboms := pushIndex(t, repo)
				publish(t, ref, sboms, other)
				return ref
			},
			want: "no signature made with the key (the registry holds 1 for sha256:",
		},
		{
			name: "a tampered SBOM attestation",
			publish: func(t *testing.T, repo name.Repository) name.Digest {
				ref, sboms := pushIndex(t, repo)
				publish(t, ref, sboms, key)
				tamper(t, ref)
				return ref
			},
			want: "its linux/amd64 image: no SBOM attestation made with the key (the registry holds 1 for sha256:",
		},
		{
			name: "no provenance",
			publish: func(t *testing.T, repo name.Repository) name.Digest {
				ref, sboms := pushIndex(t, repo)
				publish(t, ref, sboms, key)
				found, err := bundles(t.Context(), ref)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range found {
					if a.PredicateType == PredicateProvenance {
						deleteReferrer(t, a.Ref)
					}
				}
				return ref
			},
			want: "no provenance attestation made with the key (the registry holds none for sha256:",
		},
		{
			name: "another image's signature",
			publish: func(t *testing.T, repo name.Repository) name.Digest {
				signed, sboms := pushIndex(t, repo)
				publish(t, signed, sboms, key)
				ref, _ := pushIndex(t, repo)
				replay(t, signed, ref)
				return ref
			},
			want: "no signature made with the key (the registry holds 1 for sha256:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := newRegistry(t).Repo("bookstore", "recommendations")
			ref := tt.publish(t, repo)
			got, err := verifier.Check(t.Context(), ref)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check: %v, want verified", err)
			case tt.want == "" && len(got.Platforms) != 2:
				t.Errorf("Check: verified SBOMs of %v, want both images'", got.Platforms)
			case tt.want != "" && err == nil:
				t.Fatalf("Check: verified, want an error with %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("Check: %v\nwant it to say %q", err, tt.want)
			case tt.want != "":
				t.Logf("refused: %v", err)
			}
		})
	}
}

// TestCheck_BoundsWhatTheRegistrySends: a registry that answers for a
// referrer's manifest with a body that never ends is read no further than
// the largest bundle, and that referrer counts for nothing.
func TestCheck_BoundsWhatTheRegistrySends(t *testing.T) {
	key, _ := newKey(t)
	var endless atomic.Value // the manifest path served without end
	endless.Store("")
	var served atomic.Int64
	registry := ociregistry.New(log.New(io.Discard, "", 0))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != endless.Load() {
			registry.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		chunk := bytes.Repeat([]byte{' '}, 64<<10)
		for served.Load() < 1<<30 {
			n, err := w.Write(chunk)
			served.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	reg, err := name.NewRegistry(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	ref, sboms := pushIndex(t, reg.Repo("bookstore", "recommendations"))
	publish(t, ref, sboms, key)
	found, err := bundles(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range found {
		if a.PredicateType == PredicateSignature {
			endless.Store(fmt.Sprintf("/v2/%s/manifests/%s", ref.Context().RepositoryStr(), a.Ref.DigestStr()))
		}
	}
	if endless.Load() == "" {
		t.Fatal("published, but no signature found")
	}

	verifier, err := NewVerifier(&key.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_, err = verifier.Check(t.Context(), ref)
	if want := "no signature made with the key (the registry holds none for"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Check: %v, want an error with %q", err, want)
	}
	// Beyond the limit, only what the loopback connection's buffers hold
	// (a few MiB); without it, go-containerregistry reads 100 MiB.
	got, limit := served.Load(), int64(3*maxBundleSize)
	if got > limit {
		t.Errorf("the registry sent %d MiB of one manifest before the verifier stopped, want at most %d MiB", got>>20, limit>>20)
	}
	t.Logf("the registry sent %.1f MiB of one manifest before the verifier stopped", float64(got)/(1<<20))
}

// TestPublish_SBOMsMustMatchTheImages: an SBOM of no image of the index,
// or an image without its SBOM, is an error, and nothing is attached.
func TestPublish_SBOMsMustMatchTheImages(t *testing.T) {
	key, _ := newKey(t)
	repo := newRegistry(t).Repo("bookstore", "recommendations")
	ref, sboms := pushIndex(t, repo)
	_, others := pushIndex(t, repo)
	tests := []struct {
		name  string
		sboms [][]byte
		want  string
	}{
		{name: "one missing", sboms: sboms[:1], want: "no SBOM names its image"},
		{name: "another index's", sboms: append(sboms[:1:1], others[0]), want: "no SBOM names its image"},
		{name: "one too many", sboms: append(sboms[:2:2], others[0]), want: "SBOMs name images that are not in it"},
		{name: "not an image's", sboms: [][]byte{[]byte(`{"bomFormat": "CycloneDX", "specVersion": "1.6"}`)}, want: "an SBOM of no image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Publish(t.Context(), ref, tt.sboms, build, key, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Publish: %v, want an error with %q", err, tt.want)
			}
			for _, subject := range append(imagesOf(t, ref), ref) {
				if found, err := bundles(t.Context(), subject); err != nil || len(found) > 0 {
					t.Errorf("after the refused Publish, %s has %d bundles (%v), want none", subject.DigestStr(), len(found), err)
				}
			}
		})
	}
}

// TestAttach_CosignLayout holds a bundle's referrer to cosign's layout
// (sigstore/cosign specs/BUNDLE_SPEC.md and pkg/oci/remote/write.go), and
// shows that publishing again adds no referrer.
func TestAttach_CosignLayout(t *testing.T) {
	key, _ := newKey(t)
	repo := newRegistry(t).Repo("bookstore", "recommendations")
	ref, sboms := pushIndex(t, repo)
	publish(t, ref, sboms, key)
	// A second push of the same image attaches nothing more.
	publish(t, ref, sboms, key)

	idx, err := remote.Referrers(ref)
	if err != nil {
		t.Fatal(err)
	}
	list, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Manifests) != 2 {
		t.Fatalf("the index has %d referrers, want 2 (signature, provenance)", len(list.Manifests))
	}
	for _, d := range list.Manifests {
		got, err := remote.Get(repo.Digest(d.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(got.Manifest, &m); err != nil {
			t.Fatal(err)
		}
		layer := m["layers"].([]any)[0].(map[string]any)
		config := m["config"].(map[string]any)
		annotations := m["annotations"].(map[string]any)
		subject := m["subject"].(map[string]any)
		for _, c := range []struct{ field, got, want string }{
			{"mediaType", fmt.Sprint(m["mediaType"]), "application/vnd.oci.image.manifest.v1+json"},
			{"artifactType", fmt.Sprint(m["artifactType"]), "application/vnd.dev.sigstore.bundle.v0.3+json"},
			{"config.mediaType", fmt.Sprint(config["mediaType"]), "application/vnd.oci.empty.v1+json"},
			{"config.digest", fmt.Sprint(config["digest"]), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
			{"config.size", fmt.Sprint(config["size"]), "2"},
			{"layers[0].mediaType", fmt.Sprint(layer["mediaType"]), "application/vnd.dev.sigstore.bundle.v0.3+json"},
			{"annotations[dev.sigstore.bundle.content]", fmt.Sprint(annotations["dev.sigstore.bundle.content"]), "dsse-envelope"},
			{"subject.digest", fmt.Sprint(subject["digest"]), ref.DigestStr()},
			{"subject.mediaType", fmt.Sprint(subject["mediaType"]), "application/vnd.oci.image.index.v1+json"},
		} {
			if c.got != c.want {
				t.Errorf("referrer %s: %s = %q, want %q", d.Digest, c.field, c.got, c.want)
			}
		}
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(annotations["org.opencontainers.image.created"])); err != nil {
			t.Errorf("referrer %s: the created annotation: %v", d.Digest, err)
		}

		// The bundle: v0.3, a DSSE envelope of an in-toto statement about
		// the index, the key named by its hint.
		l, err := remote.Layer(repo.Digest(fmt.Sprint(layer["digest"])))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := readAll(l, maxBundleSize)
		if err != nil {
			t.Fatal(err)
		}
		var b bundle.Bundle
		if err := b.UnmarshalJSON(raw); err != nil {
			t.Fatal(err)
		}
		envelope := b.GetDsseEnvelope()
		var statement struct {
			Type          string `json:"_type"`
			PredicateType string
			Subject       []struct {
				Name   string
				Digest map[string]string
			}
		}
		if err := json.Unmarshal(envelope.GetPayload(), &statement); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ field, got, want string }{
			{"mediaType", b.GetMediaType(), "application/vnd.dev.sigstore.bundle.v0.3+json"},
			{"payloadType", envelope.GetPayloadType(), "application/vnd.in-toto+json"},
			{"publicKey.hint", b.GetVerificationMaterial().GetPublicKey().GetHint(), string(key.GetHint())},
			{"statement _type", statement.Type, "https://in-toto.io/Statement/v1"},
			{"predicateType annotation", fmt.Sprint(annotations["dev.sigstore.bundle.predicateType"]), statement.PredicateType},
			{"subject", fmt.Sprint(statement.Subject), fmt.Sprintf("[{%s map[sha256:%s]}]", repo.Name(), strings.TrimPrefix(ref.DigestStr(), "sha256:"))},
		} {
			if c.got != c.want {
				t.Errorf("bundle of %s: %s = %q, want %q", d.Digest, c.field, c.got, c.want)
			}
		}
		if tl := b.GetVerificationMaterial().GetTlogEntries(); len(tl) != 0 {
			t.Errorf("bundle of %s: %d transparency log entries, want none (offline)", d.Digest, len(tl))
		}
	}
}

// newRegistry serves the local registry's handler (ociregistry), with the referrers
// API, on loopback for the test.
func newRegistry(t *testing.T) name.Registry {
	t.Helper()
	srv := httptest.NewServer(ociregistry.New(log.New(io.Discard, "", 0)))
	t.Cleanup(srv.Close)
	reg, err := name.NewRegistry(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// newKey makes a P-256 key pair and writes its private key as PKCS#8 PEM,
// as //certs:image_signing does.
func newKey(t *testing.T) (*Keypair, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &Keypair{key: key}, file
}

// pushIndex pushes a new index of two random images (linux/amd64,
// linux/arm64) and returns it with an SBOM of each image.
func pushIndex(t *testing.T, repo name.Repository) (name.Digest, [][]byte) {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var sboms [][]byte
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		digest, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: arch},
		}})
		sboms = append(sboms, fmt.Appendf(nil, `{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
			"metadata": {"component": {"type": "container", "name": "bookstore/recommendations", "version": %q}},
			"components": [{"type": "library", "name": "google.golang.org/grpc", "version": "v1.85.0"}]}`, digest))
	}
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref := repo.Digest(digest.String())
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	return ref, sboms
}

func publish(t *testing.T, ref name.Digest, sboms [][]byte, k *Keypair) {
	t.Helper()
	var log bytes.Buffer
	if err := Publish(t.Context(), ref, sboms, build, k, &log); err != nil {
		t.Fatalf("Publish: %v\n%s", err, log.String())
	}
}

// tamper replaces the SBOM attestation of each of ref's images with one
// whose SBOM says another grpc-go version, under the original signature.
func tamper(t *testing.T, ref name.Digest) {
	t.Helper()
	for _, image := range imagesOf(t, ref) {
		d, err := remote.Get(image)
		if err != nil {
			t.Fatal(err)
		}
		found, err := bundles(t.Context(), image)
		if err != nil || len(found) != 1 {
			t.Fatalf("the SBOM attestations of %s: %d, %v", image, len(found), err)
		}
		var b bundle.Bundle
		if err := b.UnmarshalJSON(found[0].Bundle); err != nil {
			t.Fatal(err)
		}
		envelope := b.GetDsseEnvelope()
		envelope.Payload = bytes.Replace(envelope.Payload, []byte("v1.85.0"), []byte("v1.99.0"), 1)
		raw, err := protojson.Marshal(b.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		deleteReferrer(t, found[0].Ref)
		if _, err := Attach(t.Context(), image, d.Descriptor, raw, PredicateCycloneDX, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// replay attaches the signature of the index from to the index to.
func replay(t *testing.T, from, to name.Digest) {
	t.Helper()
	found, err := bundles(t.Context(), from)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range found {
		if a.PredicateType == PredicateSignature {
			if _, err := Attach(t.Context(), to, desc.Descriptor, a.Bundle, a.PredicateType, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func deleteReferrer(t *testing.T, ref name.Digest) {
	t.Helper()
	if err := remote.Delete(ref, remote.WithContext(context.Background())); err != nil {
		t.Fatal(err)
	}
}

// imagesOf lists the images of the index at ref.
func imagesOf(t *testing.T, ref name.Digest) []name.Digest {
	t.Helper()
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var images []name.Digest
	for _, d := range m.Manifests {
		images = append(images, ref.Context().Digest(d.Digest.String()))
	}
	return images
}

func TestProvenance(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		revision     string
		wantResolved string // resolvedDependencies, as JSON
		wantDirty    bool
	}{
		{revision: commit, wantResolved: `[{"digest":{"gitCommit":"` + commit + `"},"uri":"git+https://github.com/onlinebooks/bookstore"}]`},
		{revision: commit + "-dirty", wantResolved: "null", wantDirty: true},
		{revision: "unknown", wantResolved: "null"},
	}
	for _, tt := range tests {
		b := build
		b.Revision = tt.revision
		p, err := Provenance(b)
		if err != nil {
			t.Fatalf("Provenance(%q): %v", tt.revision, err)
		}
		m := p.AsMap()
		def := m["buildDefinition"].(map[string]any)
		resolved, err := json.Marshal(def["resolvedDependencies"])
		if err != nil {
			t.Fatal(err)
		}
		if got := string(resolved); got != tt.wantResolved {
			t.Errorf("Provenance(%q): resolvedDependencies %s, want %s", tt.revision, got, tt.wantResolved)
		}
		if got := def["internalParameters"].(map[string]any)["dirty"]; got != tt.wantDirty {
			t.Errorf("Provenance(%q): dirty %v, want %v", tt.revision, got, tt.wantDirty)
		}
		params := def["externalParameters"].(map[string]any)
		if got := params["source"].(map[string]any)["revision"]; got != tt.revision {
			t.Errorf("Provenance(%q): source revision %v, want it as given", tt.revision, got)
		}
		if got := m["runDetails"].(map[string]any)["builder"].(map[string]any)["id"]; got != build.Builder {
			t.Errorf("Provenance(%q): builder %v, want %s", tt.revision, got, build.Builder)
		}
	}
}
