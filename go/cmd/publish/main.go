// Command publish is each image's push target (bazel run
// //go/cmd/<service>:push): it pushes the image index with rules_oci's
// oci_push, then signs it and attaches its SBOMs and provenance
// (go/tools/attest) next to it in the registry, unless they are there
// already. tools/oci:push.bzl links in the files; the user adds oci_push's
// own flags after `--`:
//
//	bazel run //go/cmd/recommendations:push [-- --repository HOST/REPO] [--tag TAG]
//
// Its last line of output is oci_push's: REPOSITORY@DIGEST.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/bazelbuild/rules_go/go/runfiles"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/onlinebooks/bookstore/go/tools/attest"
	"github.com/onlinebooks/bookstore/go/tools/ocipush"
)

// The BUILD file's files, as runfiles paths, linked in by
// tools/oci:push.bzl (x_defs): a push target is also run by other programs
// (//k8s:apply, tests), which a go_binary's args would not reach. The
// flags of the same names override them.
var (
	pushScript string
	sbomFiles  string // comma-separated
	keyFile    string
	labelsFile string
	target     string
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "push:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	push := fs.String("push", pushScript, "the index's oci_push script (runfiles path)")
	sboms := fs.String("sboms", sbomFiles, "the images' CycloneDX SBOMs (comma-separated runfiles paths)")
	key := fs.String("key", keyFile, "the signing key, a PEM private key (runfiles or absolute path)")
	labels := fs.String("labels", labelsFile, "the images' stamped labels: their source and revision (runfiles path)")
	label := fs.String("target", target, "the image index's Bazel target, for the provenance")
	builder := fs.String("builder", "https://github.com/onlinebooks/bookstore/tools/bazel", "who builds, for the provenance (SLSA builder.id)")
	// oci_push's flags, passed on.
	var repository string
	var tags []string
	tag := func(v string) error { tags = append(tags, v); return nil }
	fs.StringVar(&repository, "repository", "", "the repository to push to (default: the target's)")
	fs.StringVar(&repository, "r", "", "short for -repository")
	fs.Func("tag", "a tag to push as (repeatable; default: the target's)", tag)
	fs.Func("t", "short for -tag", tag)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	paths := map[string]*string{"push": push, "key": key, "labels": labels}
	for flagName, p := range paths {
		if *p == "" {
			return fmt.Errorf("-%s is required", flagName)
		}
		path, err := runfiles.Rlocation(*p)
		if err != nil {
			return fmt.Errorf("-%s: %w", flagName, err)
		}
		*p = path
	}
	var docs [][]byte
	for _, s := range strings.Split(*sboms, ",") {
		path, err := runfiles.Rlocation(s)
		if err != nil {
			return fmt.Errorf("-sboms: %w", err)
		}
		doc, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		docs = append(docs, doc)
	}
	keypair, err := attest.LoadKeypair(*key)
	if err != nil {
		return err
	}
	build, err := readLabels(*labels)
	if err != nil {
		return err
	}
	build.Target, build.Builder = *label, *builder

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	root, err := ocipush.RunfilesRoot()
	if err != nil {
		return err
	}
	var pushArgs []string
	if repository != "" {
		pushArgs = append(pushArgs, "--repository", repository)
	}
	for _, t := range tags {
		pushArgs = append(pushArgs, "--tag", t)
	}
	ref, err := ocipush.Push(ctx, *push, root, pushArgs...)
	if err != nil {
		return err
	}
	// The registry's credentials as oci_push (crane) finds them: Docker's
	// config and credential helpers.
	auth := remote.WithAuthFromKeychain(authn.DefaultKeychain)
	if err := attest.Publish(ctx, ref, docs, build, keypair, os.Stdout, auth); err != nil {
		return fmt.Errorf("%s is pushed but not signed: %w", ref, err)
	}
	fmt.Println(ref)
	return nil
}

// readLabels reads the source and revision from the images' labels file
// (//tools/oci:image.bzl, stamped by tools/workspace_status).
func readLabels(file string) (attest.Build, error) {
	f, err := os.Open(file)
	if err != nil {
		return attest.Build{}, err
	}
	defer f.Close()
	var b attest.Build
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, value, _ := strings.Cut(s.Text(), "=")
		switch key {
		case "org.opencontainers.image.source":
			b.Source = "git+" + value
		case "org.opencontainers.image.revision":
			b.Revision = value
		}
	}
	if err := s.Err(); err != nil {
		return attest.Build{}, err
	}
	if b.Source == "" || b.Revision == "" {
		return attest.Build{}, errors.New(file + ": no org.opencontainers.image.source or .revision label")
	}
	return b, nil
}
