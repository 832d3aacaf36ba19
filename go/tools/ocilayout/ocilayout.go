// Package ocilayout copies the OCI layouts Bazel makes so that
// go-containerregistry can read them: its layout package refuses to read
// a blob through a symlink, and rules_oci's layouts, Bazel's sandboxes and
// runfiles trees are made of them.
package ocilayout

import (
	"io/fs"
	"os"
	"path/filepath"
)

// Copy copies the OCI layout at src into dst, a folder that exists,
// following every symlink, so that layout.ImageIndexFromPath(dst) reads it.
func Copy(dst, src string) error {
	src, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}
