package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// imageSize returns the compressed size of the image in an OCI layout
// folder: its layers and config, what a registry stores and a node pulls.
// It reads the index and manifest itself: go-containerregistry's layout
// package refuses the symlinks that runfiles are made of.
func imageSize(dir string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return 0, fmt.Errorf("image: %w", err)
	}
	index, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("image %s: %w", dir, err)
	}
	if len(index.Manifests) != 1 {
		return 0, fmt.Errorf("image %s: %d manifests, want 1", dir, len(index.Manifests))
	}
	d := index.Manifests[0].Digest
	if b, err = os.ReadFile(filepath.Join(dir, "blobs", d.Algorithm, d.Hex)); err != nil {
		return 0, fmt.Errorf("image: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("image %s: %w", dir, err)
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, nil
}
