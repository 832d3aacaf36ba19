package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layoutWriter writes an OCI image layout the way rules_oci's image.sh
// leaves it: blobs/sha256/<hex>, an oci-layout file and an index.json
// naming one manifest.
type layoutWriter struct {
	dir string
	// symlinks: layer and base blobs are relative symlinks to the files
	// they come from, as image.sh:36-46 and :105-114 write them when
	// bazel_features.rules.permits_treeartifact_uplevel_symlinks (Bazel >=
	// 7.1, image.bzl:151); else copies.
	symlinks bool
}

func (w *layoutWriter) blobDir() string { return filepath.Join(w.dir, "blobs", "sha256") }

func (w *layoutWriter) init() error {
	if err := os.MkdirAll(w.blobDir(), 0o755); err != nil {
		return err
	}
	// regctl's ocidir writes the layout version compactly, no newline.
	return os.WriteFile(filepath.Join(w.dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// blob stores b as a regular file (regctl blob put / manifest put).
func (w *layoutWriter) blob(b []byte) (v1.Hash, int64, error) {
	h := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(b))}
	return h, int64(len(b)), os.WriteFile(filepath.Join(w.blobDir(), h.Hex), b, 0o644)
}

// link puts the file at path into the layout under its own name (a base
// blob): a relative symlink, or a copy.
func (w *layoutWriter) link(path string) error {
	return w.place(path, filepath.Base(path))
}

// layer puts a layer tar into the layout as it is and returns its
// descriptor and diff_id.
func (w *layoutWriter) layer(path string, configType types.MediaType) (v1.Descriptor, v1.Hash, error) {
	digest, diffID, size, gzipped, err := layerDigests(path)
	if err != nil {
		return v1.Descriptor{}, v1.Hash{}, err
	}
	if err := w.place(path, digest.Hex); err != nil {
		return v1.Descriptor{}, v1.Hash{}, err
	}
	return v1.Descriptor{MediaType: layerMediaType(configType, gzipped), Size: size, Digest: digest}, diffID, nil
}

func (w *layoutWriter) place(path, hex string) error {
	dst := filepath.Join(w.blobDir(), hex)
	if w.symlinks {
		rel, err := relativeTo(w.blobDir(), path)
		if err != nil {
			return err
		}
		os.Remove(dst)
		return os.Symlink(rel, dst)
	}
	return copyFile(path, dst)
}

// index writes index.json as image.sh:190 leaves it (jq's pretty print of
// regctl's index, its annotations deleted): schemaVersion, mediaType and the
// one manifest's mediaType, digest and size, nothing else.
func (w *layoutWriter) index(manifest v1.Descriptor) error {
	type entry struct {
		MediaType types.MediaType `json:"mediaType"`
		Digest    v1.Hash         `json:"digest"`
		Size      int64           `json:"size"`
	}
	index := struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     types.MediaType `json:"mediaType"`
		Manifests     []entry         `json:"manifests"`
	}{2, types.OCIImageIndex, []entry{{manifest.MediaType, manifest.Digest, manifest.Size}}}
	b, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(w.dir, "index.json"), append(b, '\n'), 0o644)
}

// ociLayout is an oci_image output read through any symlinks in it: Bazel's
// runfiles and sandboxes link every file, and the blobs themselves are
// links on Bazel >= 7.1.
type ociLayout struct{ dir string }

func readLayout(dir string) (ociLayout, error) {
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return ociLayout{}, fmt.Errorf("%s is not an OCI layout: %w", dir, err)
	}
	return ociLayout{dir}, nil
}

func (l ociLayout) blobPath(h v1.Hash) string {
	return filepath.Join(l.dir, "blobs", h.Algorithm, h.Hex)
}

// index is the layout's one manifest descriptor; rules_oci's .digest,
// oci_load and oci_push all take manifests[0] of a single-image layout.
func (l ociLayout) index() (v1.Descriptor, error) {
	b, err := os.ReadFile(filepath.Join(l.dir, "index.json"))
	if err != nil {
		return v1.Descriptor{}, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: %w", l.dir, err)
	}
	if len(idx.Manifests) != 1 {
		return v1.Descriptor{}, fmt.Errorf("%s: want one image in the layout, found %d", l.dir, len(idx.Manifests))
	}
	return idx.Manifests[0], nil
}

func (l ociLayout) manifest() (*v1.Manifest, error) {
	d, err := l.index()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(l.blobPath(d.Digest))
	if err != nil {
		return nil, err
	}
	return v1.ParseManifest(bytes.NewReader(b))
}

func (l ociLayout) config(m *v1.Manifest) (*v1.ConfigFile, error) {
	b, err := os.ReadFile(l.blobPath(m.Config.Digest))
	if err != nil {
		return nil, err
	}
	return v1.ParseConfigFile(bytes.NewReader(b))
}

// temps are the folders resolved made; main removes them.
var temps []string

// resolved returns a copy of the layout that go-containerregistry's layout
// package reads (it refuses symlinked blobs): hard links to the files the
// links point at, or copies where a hard link cannot be made.
func (l ociLayout) resolved() (string, error) {
	tmp, err := os.MkdirTemp("", "layout")
	if err != nil {
		return "", err
	}
	temps = append(temps, tmp)
	blobs := filepath.Join("blobs", "sha256")
	if err := os.MkdirAll(filepath.Join(tmp, blobs), 0o755); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(filepath.Join(l.dir, blobs))
	if err != nil {
		return "", err
	}
	files := []string{"index.json", "oci-layout"}
	for _, e := range entries {
		files = append(files, filepath.Join(blobs, e.Name()))
	}
	for _, f := range files {
		src, err := filepath.EvalSymlinks(filepath.Join(l.dir, f))
		if err != nil {
			return "", err
		}
		if os.Link(src, filepath.Join(tmp, f)) != nil {
			if err := copyFile(src, filepath.Join(tmp, f)); err != nil {
				return "", err
			}
		}
	}
	return tmp, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
