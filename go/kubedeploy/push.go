package kubedeploy

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push copies the one image of the OCI layout in dir (an oci_image output)
// to repository (e.g. 127.0.0.1:5000/bookstore/recommendations), by digest,
// and returns the digest.
func Push(ctx context.Context, dir, repository string) (string, error) {
	// A runfiles tree links each file of the layout; go-containerregistry
	// reads blobs only as regular files, so read them where the links point.
	index, err := filepath.EvalSymlinks(filepath.Join(dir, "index.json"))
	if err != nil {
		return "", err
	}
	idx, err := layout.ImageIndexFromPath(filepath.Dir(index))
	if err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	if len(m.Manifests) != 1 {
		return "", fmt.Errorf("%s: %d images, want 1", dir, len(m.Manifests))
	}
	digest := m.Manifests[0].Digest
	img, err := idx.Image(digest)
	if err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	ref, err := name.NewDigest(repository + "@" + digest.String())
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing to %s: %w", repository, err)
	}
	return digest.String(), nil
}
