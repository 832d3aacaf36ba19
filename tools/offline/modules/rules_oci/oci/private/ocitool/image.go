package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the creation time rules_oci gives a config and each history
// entry (oci/private/image.sh:30, descriptor.sh:43-46), so the same inputs
// give the same digest.
var epoch = v1.Time{Time: time.Unix(0, 0).UTC()}

// imageCmd does what rules_oci's image.sh does with crane, regctl and jq:
// the base's blobs and config, then each tar appended as it is (never
// recompressed), then the config attributes.
func imageCmd(args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write the OCI layout to")
	base := fs.String("base", "", "OCI layout of the base image (default: none, an image from scratch)")
	var tars, owners listFlag
	fs.Var(&tars, "tar", "layer tarball, appended in order (repeatable)")
	fs.Var(&owners, "owner", "the label of the target that made each -tar, in the same order")
	symlinks := fs.Bool("symlinks", false, "write layer and base blobs as relative symlinks (Bazel >= 7.1), not copies")
	entrypoint := fs.String("entrypoint", "", "file with the entrypoint, one argument per line")
	env := fs.String("env", "", "file of KEY=VALUE lines, merged into the base's environment")
	labels := fs.String("labels", "", "file of key=value lines, merged into the base's labels")
	ports := fs.String("exposed-ports", "", "file with comma-separated ports, e.g. 8080/tcp")
	user := fs.String("user", "", "user (and group) the container runs as")
	workdir := fs.String("workdir", "", "working directory of the container")
	goos := fs.String("os", "", "operating system (required without a base)")
	arch := fs.String("architecture", "", "CPU architecture (required without a base)")
	variant := fs.String("variant", "", "CPU variant, e.g. v8 for arm64 (only without a base)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-out is required")
	}
	if len(tars) != len(owners) {
		return fmt.Errorf("%d -tar but %d -owner", len(tars), len(owners))
	}

	w := layoutWriter{dir: *out, symlinks: *symlinks}
	if err := w.init(); err != nil {
		return err
	}
	cf, m, err := startImage(&w, *base, *goos, *arch, *variant)
	if err != nil {
		return err
	}
	for i, path := range tars {
		desc, diffID, err := w.layer(path, m.Config.MediaType)
		if err != nil {
			return fmt.Errorf("layer %s: %w", path, err)
		}
		m.Layers = append(m.Layers, desc)
		cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, diffID)
		cf.History = append(cf.History, v1.History{Created: epoch, CreatedBy: "bazel build " + owners[i]})
	}
	if err := configure(cf, *entrypoint, *env, *labels, *ports, *user, *workdir); err != nil {
		return err
	}

	config, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return err
	}
	m.Config.Digest, m.Config.Size, err = w.blob(config)
	if err != nil {
		return err
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	desc := v1.Descriptor{MediaType: m.MediaType, Size: int64(len(manifest))}
	if desc.Digest, _, err = w.blob(manifest); err != nil {
		return err
	}
	return w.index(desc)
}

// startImage returns the config and manifest to add layers to: the base's,
// with its blobs in w, or those of an empty image for os/arch[/variant].
func startImage(w *layoutWriter, base, goos, arch, variant string) (*v1.ConfigFile, *v1.Manifest, error) {
	if base == "" {
		if goos == "" || arch == "" {
			return nil, nil, errors.New("an image without a base needs -os and -architecture")
		}
		// image.sh:23-30: empty lists, not absent ones; the variant only
		// where given (image.bzl's _platform_str).
		cf := &v1.ConfigFile{
			Created: epoch, OS: goos, Architecture: arch, Variant: variant,
			History: []v1.History{}, RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{}},
		}
		m := &v1.Manifest{
			SchemaVersion: 2,
			MediaType:     types.OCIManifestSchema1,
			Config:        v1.Descriptor{MediaType: types.OCIConfigJSON},
			Layers:        []v1.Descriptor{},
		}
		return cf, m, nil
	}
	l, err := readLayout(base)
	if err != nil {
		return nil, nil, err
	}
	m, err := l.manifest()
	if err != nil {
		return nil, nil, err
	}
	cf, err := l.config(m)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range m.Layers {
		if err := w.link(l.blobPath(d.Digest)); err != nil {
			return nil, nil, err
		}
	}
	return cf, m, nil
}

// layerMediaType is the layer type rules_oci writes for a tar with the given
// magic (image.sh:80-90): the base's family, the compression from the bytes.
func layerMediaType(configType types.MediaType, gzipped bool) types.MediaType {
	if configType == types.DockerConfigJSON {
		if gzipped {
			return types.DockerLayer
		}
		return types.DockerUncompressedLayer
	}
	if gzipped {
		return types.OCILayer
	}
	return types.OCIUncompressedLayer
}

// layerDigests returns the layer's digest and size, as stored, and its
// diff_id: the digest of its uncompressed bytes (descriptor.sh:19-26).
func layerDigests(path string) (digest, diffID v1.Hash, size int64, gzipped bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return digest, diffID, 0, false, err
	}
	defer f.Close()
	h := sha256.New()
	if size, err = io.Copy(h, f); err != nil {
		return digest, diffID, 0, false, err
	}
	digest = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return digest, diffID, 0, false, err
	}
	magic := make([]byte, 2)
	n, _ := io.ReadFull(f, magic)
	gzipped = n == 2 && bytes.Equal(magic, []byte{0x1f, 0x8b})
	if !gzipped {
		return digest, digest, size, false, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return digest, diffID, 0, false, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return digest, diffID, 0, false, err
	}
	h.Reset()
	if _, err := io.Copy(h, zr); err != nil {
		return digest, diffID, 0, false, err
	}
	diffID = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
	return digest, diffID, size, true, nil
}

// configure applies oci_image's config attributes as image.sh:128-170 does.
func configure(cf *v1.ConfigFile, entrypoint, env, labels, ports, user, workdir string) error {
	if user != "" {
		cf.Config.User = user
	}
	if workdir != "" {
		cf.Config.WorkingDir = workdir
	}
	if entrypoint != "" {
		lines, err := readLines(entrypoint)
		if err != nil {
			return err
		}
		// Setting an entrypoint drops the base's cmd (image.sh:155).
		cf.Config.Entrypoint, cf.Config.Cmd = lines, nil
	}
	if env != "" {
		pairs, err := readPairs(env)
		if err != nil {
			return err
		}
		cf.Config.Env = mergeEnv(cf.Config.Env, pairs)
	}
	if labels != "" {
		// image.sh:170: value after the first "=", empty without one.
		pairs, err := readPairs(labels)
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
	if ports != "" {
		b, err := os.ReadFile(ports)
		if err != nil {
			return err
		}
		// Taken as written, split on commas (image.sh:158): "8080/tcp".
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range strings.Split(strings.TrimSpace(string(b)), ",") {
			if p != "" {
				cf.Config.ExposedPorts[p] = struct{}{}
			}
		}
	}
	return nil
}

// mergeEnv sets each KEY=VALUE of pairs in env, in order: a KEY already
// there is replaced in place, a new one appended, and $NAME or ${NAME} in
// a VALUE is the value NAME has at that point, or nothing
// (image.sh:15-18, :131-147).
func mergeEnv(env []string, pairs [][2]string) []string {
	out := append([]string(nil), env...)
	for _, kv := range pairs {
		entry := kv[0] + "=" + envRef.ReplaceAllStringFunc(kv[1], func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			for _, e := range out {
				if k, v, _ := strings.Cut(e, "="); k == name {
					return v
				}
			}
			return ""
		})
		replaced := false
		for i, e := range out {
			if k, _, _ := strings.Cut(e, "="); k == kv[0] {
				out[i], replaced = entry, true
				break
			}
		}
		if !replaced {
			out = append(out, entry)
		}
	}
	return out
}

// envRef is upstream's ENV_EXPAND_FILTER pattern.
var envRef = regexp.MustCompile(`\$\{?([a-zA-Z0-9_]+)\}?`)

func nonEmpty(lines []string) []string {
	var out []string
	for _, l := range lines {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// readLines reads entrypoint values, one per line, non-empty; the macros
// write a newline inside a value as %5Cn (image.sh:155).
func readLines(path string) ([]string, error) {
	lines, err := readRaw(path)
	for i, l := range lines {
		lines[i] = strings.ReplaceAll(l, "%5Cn", "\n")
	}
	return nonEmpty(lines), err
}

func readRaw(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	return lines, s.Err()
}

// readPairs reads key=value lines as written, skipping blank ones; the
// value is all after the first "=", empty without one.
func readPairs(path string) ([][2]string, error) {
	lines, err := readRaw(path)
	if err != nil {
		return nil, err
	}
	var pairs [][2]string
	for _, l := range nonEmpty(lines) {
		k, v, _ := strings.Cut(l, "=")
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs, nil
}

// relativeTo is target as a path relative to dir, both taken as written
// (realpath --no-symlinks --relative-to, image.sh:105-114).
func relativeTo(dir, target string) (string, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	absTarget, err := filepath.Abs(target)
	if err != nil {
		return "", err
	}
	return filepath.Rel(absDir, absTarget)
}
