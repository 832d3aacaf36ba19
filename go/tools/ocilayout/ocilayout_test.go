package ocilayout

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// A layout made of symlinks, as a runfiles tree holds one, reads once
// copied, and is the same index.
func TestCopy(t *testing.T) {
	img, err := random.Image(64, 2)
	if err != nil {
		t.Fatal(err)
	}
	real := t.TempDir()
	p, err := layout.Write(real, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	links := t.TempDir()
	err = filepath.WalkDir(real, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(real, path)
		if err := os.MkdirAll(filepath.Join(links, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.Symlink(path, filepath.Join(links, rel))
	})
	if err != nil {
		t.Fatal(err)
	}

	dst := t.TempDir()
	if err := Copy(dst, links); err != nil {
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
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Digest != want {
		t.Fatalf("the copy's index lists %v, want the image %s", m.Manifests, want)
	}
	got, err := idx.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := got.RawConfigFile(); err != nil {
		t.Errorf("the copy's image config: %v", err)
	}
	layers, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Errorf("a layer of the copy: %v", err)
			continue
		}
		rc.Close()
	}
}
