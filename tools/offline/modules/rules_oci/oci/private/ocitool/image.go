package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is every image's creation time, as in rules_oci: a build from the
// same inputs must give the same digest.
var epoch = v1.Time{Time: time.Unix(0, 0).UTC()}

func imageCmd(args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write the OCI layout to")
	base := fs.String("base", "", "OCI layout of the base image (default: none, an image from scratch)")
	var tars listFlag
	fs.Var(&tars, "tar", "layer tarball, appended in order (repeatable)")
	entrypoint := fs.String("entrypoint", "", "file with the entrypoint, one argument per line")
	env := fs.String("env", "", "file of KEY=VALUE lines, merged into the base's environment")
	labels := fs.String("labels", "", "file of key=value lines, merged into the base's labels")
	ports := fs.String("exposed-ports", "", "file with comma-separated ports, e.g. 8080/tcp")
	user := fs.String("user", "", "user (and group) the container runs as")
	workdir := fs.String("workdir", "", "working directory of the container")
	goos := fs.String("os", "", "operating system (required without a base)")
	arch := fs.String("architecture", "", "CPU architecture (required without a base)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-out is required")
	}

	img, err := baseImage(*base)
	if err != nil {
		return err
	}
	for _, path := range tars {
		// Uncompressed tars are gzipped here; WithCompressedCaching keeps
		// that to one pass for the digest and the write.
		layer, err := tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
		if err != nil {
			return fmt.Errorf("layer %s: %w", path, err)
		}
		// Not the tar's name in the history: the digest depends on the
		// contents only, whichever target built them.
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:   layer,
			History: v1.History{Created: epoch, CreatedBy: "bazel build"},
		})
		if err != nil {
			return fmt.Errorf("layer %s: %w", path, err)
		}
	}

	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.Created = epoch
	if *goos != "" {
		cf.OS = *goos
	}
	if *arch != "" {
		cf.Architecture = *arch
	}
	if cf.OS == "" || cf.Architecture == "" {
		return errors.New("an image without a base needs -os and -architecture")
	}
	if *user != "" {
		cf.Config.User = *user
	}
	if *workdir != "" {
		cf.Config.WorkingDir = *workdir
	}
	if *entrypoint != "" {
		lines, err := readLines(*entrypoint)
		if err != nil {
			return err
		}
		cf.Config.Entrypoint = lines
	}
	if *env != "" {
		pairs, err := readPairs(*env)
		if err != nil {
			return err
		}
		cf.Config.Env = mergeEnv(cf.Config.Env, pairs)
	}
	if *labels != "" {
		pairs, err := readPairs(*labels)
		if err != nil {
			return err
		}
		if cf.Config.Labels == nil {
			cf.Config.Labels = map[string]string{}
		}
		for _, kv := range pairs {
			cf.Config.Labels[kv[0]] = kv[1]
		}
	}
	if *ports != "" {
		b, err := os.ReadFile(*ports)
		if err != nil {
			return err
		}
		if cf.Config.ExposedPorts == nil {
			cf.Config.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range strings.Split(strings.TrimSpace(string(b)), ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}

	lp, err := layout.Write(*out, empty.Index)
	if err != nil {
		return err
	}
	return lp.AppendImage(img)
}

// baseImage is the image of the layout at dir, or an empty OCI image.
func baseImage(dir string) (v1.Image, error) {
	if dir == "" {
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		return mutate.ConfigMediaType(img, types.OCIConfigJSON), nil
	}
	return imageFromLayout(dir)
}

// imageFromLayout reads the one image of an oci_image layout.
func imageFromLayout(dir string) (v1.Image, error) {
	dir, err := resolveLayout(dir)
	if err != nil {
		return nil, err
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("%s: want one image in the layout, found %d", dir, len(m.Manifests))
	}
	return idx.Image(m.Manifests[0].Digest)
}

// temps are the folders resolveLayout made; main removes them.
var temps []string

// resolveLayout returns dir, or, when its files are symlinks (as in Bazel's
// sandboxes and runfiles trees, which go-containerregistry refuses to read
// blobs through), a temporary copy made of hard links to their targets.
func resolveLayout(dir string) (string, error) {
	if fi, err := os.Lstat(filepath.Join(dir, "index.json")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return dir, err
	}
	tmp, err := os.MkdirTemp("", "layout")
	if err != nil {
		return "", err
	}
	temps = append(temps, tmp)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		dst := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		src, err := filepath.EvalSymlinks(path)
		if err != nil {
			return err
		}
		if os.Link(src, dst) == nil {
			return nil
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	return tmp, err
}

// mergeEnv sets each KEY=VALUE of pairs in env, replacing an earlier KEY.
func mergeEnv(env []string, pairs [][2]string) []string {
	out := append([]string(nil), env...)
	for _, kv := range pairs {
		entry := kv[0] + "=" + kv[1]
		replaced := false
		for i, e := range out {
			if strings.HasPrefix(e, kv[0]+"=") {
				out[i], replaced = entry, true
			}
		}
		if !replaced {
			out = append(out, entry)
		}
	}
	return out
}

// readLines reads one value per line; rules_oci writes a newline inside a
// value as %5Cn.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, strings.ReplaceAll(s.Text(), "%5Cn", "\n"))
	}
	return lines, s.Err()
}

// readPairs reads key=value lines, skipping blank ones.
func readPairs(path string) ([][2]string, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	var pairs [][2]string
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s: %q is not key=value", path, l)
		}
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs, nil
}
