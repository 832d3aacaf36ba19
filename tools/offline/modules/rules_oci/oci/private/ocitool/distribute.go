package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func digestCmd(args []string) error {
	fs := flag.NewFlagSet("digest", flag.ContinueOnError)
	dir := fs.String("image", "", "OCI layout")
	out := fs.String("out", "", "file to write sha256:<hex> to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	img, err := imageFromLayout(*dir)
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	return os.WriteFile(*out, []byte(d.String()+"\n"), 0o644)
}

func tarballCmd(args []string) error {
	fs := flag.NewFlagSet("tarball", flag.ContinueOnError)
	dir := fs.String("image", "", "OCI layout")
	tagsFile := fs.String("repo-tags", "", "file of repository:tag lines")
	out := fs.String("out", "", "docker-archive tarball to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	img, tags, err := imageAndTags(*dir, *tagsFile)
	if err != nil {
		return err
	}
	refs := map[name.Tag]v1.Image{}
	for _, t := range tags {
		refs[t] = img
	}
	return tarball.MultiWriteToFile(*out, refs)
}

// loadCmd loads the image into the Docker engine of DOCKER_HOST (or the
// default socket) through its API, so no docker CLI is needed.
func loadCmd(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	dir := fs.String("image", "", "OCI layout")
	tagsFile := fs.String("repo-tags", "", "file of repository:tag lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	img, tags, err := imageAndTags(*dir, *tagsFile)
	if err != nil {
		return err
	}
	if _, err := daemon.Write(tags[0], img); err != nil {
		return fmt.Errorf("loading into Docker: %w", err)
	}
	for _, t := range tags[1:] {
		if err := daemon.Tag(tags[0], t); err != nil {
			return fmt.Errorf("tagging %s: %w", t, err)
		}
	}
	for _, t := range tags {
		fmt.Printf("Loaded image: %s\n", t)
	}
	return nil
}

// pushCmd pushes by digest, then applies each tag, as rules_oci does, so a
// failed tag never leaves a tag pointing at a half-pushed image.
func pushCmd(args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	dir := fs.String("image", "", "OCI layout")
	var repository string
	fs.StringVar(&repository, "repository", "", "repository to push to, without tag or digest")
	fs.StringVar(&repository, "r", "", "shorthand for -repository")
	tagsFile := fs.String("remote-tags", "", "file of tags, one per line")
	var extra listFlag
	fs.Var(&extra, "tag", "a tag to apply besides remote_tags (repeatable)")
	fs.Var(&extra, "t", "shorthand for -tag")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if repository == "" {
		return errors.New("no repository: set the rule's repository or pass --repository")
	}
	repo, err := name.NewRepository(repository)
	if err != nil {
		return fmt.Errorf("repository %q (no tag or digest allowed): %w", repository, err)
	}
	img, err := imageFromLayout(*dir)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	opts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if err := remote.Write(repo.Digest(digest.String()), img, opts...); err != nil {
		return fmt.Errorf("pushing to %s: %w", repo, err)
	}
	tags := extra
	if *tagsFile != "" {
		lines, err := readLines(*tagsFile)
		if err != nil {
			return err
		}
		tags = append(lines, tags...)
	}
	for _, t := range tags {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if err := remote.Tag(repo.Tag(t), img, opts...); err != nil {
			return fmt.Errorf("tagging %s:%s: %w", repo, t, err)
		}
		fmt.Fprintf(os.Stderr, "tagged %s:%s\n", repo, t)
	}
	fmt.Printf("%s@%s\n", repo, digest)
	return nil
}

func imageAndTags(dir, tagsFile string) (v1.Image, []name.Tag, error) {
	img, err := imageFromLayout(dir)
	if err != nil {
		return nil, nil, err
	}
	lines, err := readLines(tagsFile)
	if err != nil {
		return nil, nil, err
	}
	var tags []name.Tag
	for _, l := range lines {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		t, err := name.NewTag(l)
		if err != nil {
			return nil, nil, fmt.Errorf("repo tag %q: %w", l, err)
		}
		tags = append(tags, t)
	}
	if len(tags) == 0 {
		return nil, nil, fmt.Errorf("%s: no repo tags", tagsFile)
	}
	return img, tags, nil
}
