package main

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/logs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// indexDigestCmd prints manifests[0].digest of a layout's index.json, as
// `jq -r '.manifests[0].digest'` does for rules_oci's <image>.digest
// (oci/defs.bzl:170-177) and in push.sh.tpl.
func indexDigestCmd(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: ocitool index-digest LAYOUT")
	}
	l, err := readLayout(args[0])
	if err != nil {
		return err
	}
	d, err := l.index()
	if err != nil {
		return err
	}
	fmt.Println(d.Digest)
	return nil
}

// tarballEpoch is the time of every entry of oci_load's tarball, from the
// mtree spec of tarball.sh.tpl:21 (time=1672560000).
var tarballEpoch = time.Unix(1672560000, 0).UTC()

// tarballCmd writes oci_load's docker-format tarball as tarball.sh.tpl:87-107
// lays it out: the config at blobs/sha256/<hex>, each layer at
// blobs/sha256/<hex>.tar.gz whatever its compression, and manifest.json;
// every entry root-owned, mode 0755. To a file, or to standard output for
// the load script.
func tarballCmd(args []string) error {
	fs := flag.NewFlagSet("tarball", flag.ContinueOnError)
	dir := fs.String("image", "", "OCI layout")
	tagsFile := fs.String("repo-tags", "", "file of repository:tag words")
	out := fs.String("out", "-", "tarball to write; - for standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l, err := readLayout(*dir)
	if err != nil {
		return err
	}
	// load.bzl: the docker format holds one image, not an index.
	if d, err := l.index(); err != nil {
		return err
	} else if d.MediaType.IsIndex() {
		return fmt.Errorf("Format docker is only supported for oci_image targets but saw %s", d.MediaType)
	}
	m, err := l.manifest()
	if err != nil {
		return err
	}
	tags, err := repoTags(*tagsFile)
	if err != nil {
		return err
	}
	w := os.Stdout
	if *out != "-" {
		if w, err = os.Create(*out); err != nil {
			return err
		}
	}

	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	e := entry{Config: path.Join("blobs", "sha256", m.Config.Digest.Hex), RepoTags: tags, Layers: []string{}}
	files := [][2]string{{e.Config, l.blobPath(m.Config.Digest)}}
	for _, d := range m.Layers {
		name := path.Join("blobs", "sha256", d.Digest.Hex+".tar.gz")
		e.Layers = append(e.Layers, name)
		files = append(files, [2]string{name, l.blobPath(d.Digest)})
	}
	manifest, err := json.MarshalIndent([]entry{e}, "", "  ")
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, f := range files {
		if err := addFile(tw, f[0], f[1]); err != nil {
			return err
		}
	}
	if err := addBytes(tw, "manifest.json", append(manifest, '\n')); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return w.Close()
}

func header(name string, size int64) *tar.Header {
	return &tar.Header{Name: name, Size: size, Mode: 0o755, ModTime: tarballEpoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
}

func addFile(tw *tar.Writer, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(header(name, fi.Size())); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func addBytes(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(header(name, int64(len(b)))); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

// repoTags reads the repo_tags file: tags separated by white space, as
// tarball.sh.tpl:11 splits them; none is allowed (an untagged load).
func repoTags(file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	tags := append([]string{}, strings.Fields(string(b))...)
	for _, t := range tags {
		if _, err := name.NewTag(t); err != nil {
			return nil, fmt.Errorf("repo tag %q: %w", t, err)
		}
	}
	return tags, nil
}

// pushCmd is the part of `crane push PATH REF --image-refs FILE` that
// push.sh.tpl uses: it pushes the layout's image to REF and prints the
// pushed reference, REPOSITORY@DIGEST, on standard output.
func pushCmd(args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	refsFile := fs.String("image-refs", "", "file to write the pushed reference to")
	insecure := registryFlags(fs)
	dir, ref, err := twoArgs(fs, args, "ocitool push LAYOUT REFERENCE [--image-refs FILE] [--insecure] [--verbose]")
	if err != nil {
		return err
	}
	r, err := name.ParseReference(ref, nameOpts(*insecure)...)
	if err != nil {
		return err
	}
	l, err := readLayout(dir)
	if err != nil {
		return err
	}
	resolved, err := l.resolved()
	if err != nil {
		return err
	}
	idx, err := layout.ImageIndexFromPath(resolved)
	if err != nil {
		return err
	}
	d, err := l.index()
	if err != nil {
		return err
	}
	if err := write(r, idx, d); err != nil {
		return fmt.Errorf("pushing %s: %w", r, err)
	}
	pushed := r.Context().Digest(d.Digest.String()).String()
	if *refsFile != "" {
		if err := os.WriteFile(*refsFile, []byte(pushed), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(pushed)
	return nil
}

// write pushes what the layout's one manifest is, as crane push does
// (cmd/crane/cmd/push.go): an image, or an index with every image in it.
func write(r name.Reference, idx v1.ImageIndex, d v1.Descriptor) error {
	auth := remote.WithAuthFromKeychain(authn.DefaultKeychain)
	if d.MediaType.IsIndex() {
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return err
		}
		return remote.WriteIndex(r, child, auth)
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return err
	}
	return remote.Write(r, img, auth)
}

// tagCmd is `crane tag IMAGE TAG`: it gives the image in the registry one
// more tag, without pulling or pushing its blobs.
func tagCmd(args []string) error {
	fs := flag.NewFlagSet("tag", flag.ContinueOnError)
	insecure := registryFlags(fs)
	image, tag, err := twoArgs(fs, args, "ocitool tag IMAGE TAG [--insecure] [--verbose]")
	if err != nil {
		return err
	}
	r, err := name.ParseReference(image, nameOpts(*insecure)...)
	if err != nil {
		return err
	}
	opts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return err
	}
	t := r.Context().Tag(tag)
	if err := remote.Tag(t, desc, opts...); err != nil {
		return fmt.Errorf("tagging %s: %w", t, err)
	}
	fmt.Fprintf(os.Stderr, "tagged %s\n", t)
	return nil
}

// twoArgs parses flags that may come before, between or after two
// positional arguments, as crane's do.
func twoArgs(fs *flag.FlagSet, args []string, usage string) (string, string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", "", err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 2 {
		return "", "", fmt.Errorf("usage: %s", usage)
	}
	return pos[0], pos[1], nil
}

// registryFlags adds the crane flags push.sh.tpl passes to both push and
// tag: --insecure, and -v/--verbose (the registry's requests and
// responses, logged to standard error).
func registryFlags(fs *flag.FlagSet) (insecure *bool) {
	verbose := func(string) error {
		logs.Debug.SetOutput(os.Stderr)
		return nil
	}
	fs.BoolFunc("verbose", "log the registry's requests and responses", verbose)
	fs.BoolFunc("v", "shorthand for --verbose", verbose)
	return fs.Bool("insecure", false, "allow plain HTTP and unverified TLS to the registry")
}

func nameOpts(insecure bool) []name.Option {
	if insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}
