package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// imageSize returns the compressed size of the image in an OCI layout
// folder that this machine would pull: its layers and config, what a
// registry stores and a node pulls. For an image index that is the image
// for linux on this machine's CPU. It reads the layout itself:
// go-containerregistry's layout package refuses the symlinks that runfiles
// are made of.
func imageSize(dir string) (int64, error) {
	index, err := readIndex(filepath.Join(dir, "index.json"))
	if err != nil {
		return 0, fmt.Errorf("image %s: %w", dir, err)
	}
	if len(index.Manifests) != 1 {
		return 0, fmt.Errorf("image %s: %d manifests, want 1", dir, len(index.Manifests))
	}
	d := index.Manifests[0]
	if d.MediaType.IsIndex() {
		if d, err = platformImage(blobPath(dir, d.Digest)); err != nil {
			return 0, fmt.Errorf("image %s: %w", dir, err)
		}
	}
	if !d.MediaType.IsImage() {
		return 0, fmt.Errorf("image %s: %s is a %s, not an image", dir, d.Digest, d.MediaType)
	}
	b, err := os.ReadFile(blobPath(dir, d.Digest))
	if err != nil {
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

// platformImage is the descriptor of the image for linux/GOARCH in the
// image index at path.
func platformImage(path string) (v1.Descriptor, error) {
	index, err := readIndex(path)
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, d := range index.Manifests {
		if p := d.Platform; p != nil && p.OS == "linux" && p.Architecture == runtime.GOARCH {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("no image for linux/%s in the index", runtime.GOARCH)
}

func readIndex(path string) (*v1.IndexManifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return v1.ParseIndexManifest(bytes.NewReader(b))
}

func blobPath(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}
