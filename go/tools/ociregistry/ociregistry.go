// Package ociregistry is the local registry's handler: go-containerregistry's
// in-memory registry with the OCI 1.1 referrers API, where signatures and
// attestations are found next to the images they are about.
package ociregistry

import (
	"bytes"
	"encoding/json"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// New returns the registry's handler, logging to logger.
func New(logger *log.Logger) http.Handler {
	return referrers(registry.New(registry.Logger(logger), registry.WithReferrersSupport(true)))
}

// referrers mends go-containerregistry's referrers listing (v0.22.1) where
// it departs from the OCI distribution spec: it gives each referrer its
// config's media type as artifact type, where the spec wants the
// manifest's artifactType first (cosign's bundles have an empty config, so
// every one would be listed as "application/vnd.oci.empty.v1+json"), it
// ignores the artifactType filter, and its order changes from one call to
// the next. Written here because no option of the library does it; the
// manifests are read from the same registry.
func referrers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo, ok := referrersOf(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		listed := httptest.NewRecorder()
		next.ServeHTTP(listed, r)
		var index v1.IndexManifest
		if listed.Code != http.StatusOK || json.Unmarshal(listed.Body.Bytes(), &index) != nil {
			copyResponse(w, listed)
			return
		}
		filter := r.URL.Query().Get("artifactType")
		kept := index.Manifests[:0]
		for _, d := range index.Manifests {
			req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "", nil)
			if err != nil {
				http.Error(w, "listing the referrers", http.StatusInternalServerError)
				return
			}
			req.URL = &url.URL{Path: "/v2/" + repo + "/manifests/" + d.Digest.String()}
			got := httptest.NewRecorder()
			next.ServeHTTP(got, req)
			var m struct {
				ArtifactType string `json:"artifactType"`
			}
			if got.Code == http.StatusOK && json.Unmarshal(got.Body.Bytes(), &m) == nil && m.ArtifactType != "" {
				d.ArtifactType = m.ArtifactType
			}
			if filter == "" || d.ArtifactType == filter {
				kept = append(kept, d)
			}
		}
		index.Manifests = kept
		slices.SortFunc(index.Manifests, func(a, b v1.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) })
		body, err := json.Marshal(index)
		if err != nil {
			http.Error(w, "listing the referrers", http.StatusInternalServerError)
			return
		}
		if filter != "" {
			w.Header().Set("OCI-Filters-Applied", "artifactType")
		}
		w.Header().Set("Content-Type", string(types.OCIImageIndex))
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}

// referrersOf is the repository of a GET /v2/<repository>/referrers/<digest>.
func referrersOf(r *http.Request) (string, bool) {
	if r.Method != http.MethodGet {
		return "", false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, "/referrers/")
	if i <= 0 || strings.Contains(rest[i+len("/referrers/"):], "/") {
		return "", false
	}
	return rest[:i], true
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(bytes.Clone(rec.Body.Bytes()))
}
