package ociregistry

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestReferrers pushes an image and two artifacts about it, one with an
// artifactType and an empty config (cosign's bundles), one with only a
// config media type, and lists its referrers as the distribution spec
// says: artifactType from the manifest, else from the config; filtered by
// artifactType when asked.
func TestReferrers(t *testing.T) {
	srv := httptest.NewServer(New(log.New(io.Discard, "", 0)))
	t.Cleanup(srv.Close)
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/bookstore/recommendations")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	subject := repo.Digest(digest.String())
	if err := remote.Write(subject, img); err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(subject)
	if err != nil {
		t.Fatal(err)
	}
	const bundle = "application/vnd.dev.sigstore.bundle.v0.3+json"
	const sbom = "application/vnd.example.sbom+json"
	artifact := func(artifactType, configType string) {
		config := static.NewLayer([]byte("{}"), types.MediaType(configType))
		if err := remote.WriteLayer(repo, config); err != nil {
			t.Fatal(err)
		}
		configDigest, err := config.Digest()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(v1.Manifest{
			SchemaVersion: 2,
			MediaType:     types.OCIManifestSchema1,
			ArtifactType:  artifactType,
			Config:        v1.Descriptor{MediaType: types.MediaType(configType), Digest: configDigest, Size: 2},
			Layers:        []v1.Descriptor{},
			Subject:       &v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size},
		})
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := v1.SHA256(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Put(repo.Digest(d.String()), manifest(raw)); err != nil {
			t.Fatal(err)
		}
	}
	artifact(bundle, "application/vnd.oci.empty.v1+json")
	artifact("", sbom)

	tests := []struct {
		query      string
		want       []string
		wantFilter string
	}{
		{want: []string{bundle, sbom}}, // sorted: the check sorts what it gets
		{query: "?artifactType=" + url.QueryEscape(bundle), want: []string{bundle}, wantFilter: "artifactType"},
		{query: "?artifactType=" + url.QueryEscape(sbom), want: []string{sbom}, wantFilter: "artifactType"},
		{query: "?artifactType=application/x-none", want: nil, wantFilter: "artifactType"},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + "/v2/bookstore/recommendations/referrers/" + digest.String() + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		var index v1.IndexManifest
		err = json.NewDecoder(resp.Body).Decode(&index)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range index.Manifests {
			got = append(got, d.ArtifactType)
		}
		if tt.query == "" {
			// The same order every time: go-containerregistry's own
			// listing walks a map.
			for range 10 {
				if again := list(t, srv.URL, digest, tt.query); !slices.EqualFunc(again, index.Manifests, func(a, b v1.Descriptor) bool { return a.Digest == b.Digest }) {
					t.Fatalf("referrers: %v, then %v", index.Manifests, again)
				}
			}
		}
		slices.Sort(got)
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("referrers%s: artifact types %q, want %q", tt.query, got, tt.want)
		}
		if h := resp.Header.Get("OCI-Filters-Applied"); h != tt.wantFilter {
			t.Errorf("referrers%s: OCI-Filters-Applied %q, want %q", tt.query, h, tt.wantFilter)
		}
		if ct := resp.Header.Get("Content-Type"); ct != string(types.OCIImageIndex) {
			t.Errorf("referrers%s: Content-Type %q, want %q", tt.query, ct, types.OCIImageIndex)
		}
	}
}

// manifest is an OCI manifest as remote.Put takes it.
type manifest []byte

func (m manifest) RawManifest() ([]byte, error)        { return m, nil }
func (m manifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// list returns the descriptors of a referrers listing.
func list(t *testing.T, base string, digest v1.Hash, query string) []v1.Descriptor {
	t.Helper()
	resp, err := http.Get(base + "/v2/bookstore/recommendations/referrers/" + digest.String() + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var index v1.IndexManifest
	if err := json.NewDecoder(resp.Body).Decode(&index); err != nil {
		t.Fatal(err)
	}
	return index.Manifests
}
