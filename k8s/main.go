// Command k8s is //k8s:show, //k8s:apply, //k8s:delete and
// //k8s:update_golden: the BUILD file gives it the kustomizations
// (//k8s:kustomize), the image targets' outputs and kubectl, and the user
// adds the overlay (local when none) and kubectl's flags after `--`:
//
//	bazel run //k8s:show [-- production]
//	bazel run //k8s:apply [-- OVERLAY] [--context NAME] [--kubeconfig FILE]
//	bazel run //k8s:delete [-- OVERLAY] [--context NAME]
//	bazel run //k8s:update_golden
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/bazelbuild/rules_go/go/runfiles"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/onlinebooks/bookstore/go/tools/attest"
	"github.com/onlinebooks/bookstore/go/tools/ocipush"
	"github.com/onlinebooks/bookstore/go/tools/overlay"
)

// defaultOverlay is what the commands use when the user names none.
const defaultOverlay = "local"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "k8s:", err)
		os.Exit(1)
	}
}

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, " ") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func run(args []string) error {
	command, c, err := parse(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	switch command {
	case "show":
		return c.Deployment.Show(ctx, os.Stdout)
	case "apply":
		return c.Deployment.Apply(ctx, os.Stdout)
	case "delete":
		return c.Deployment.Delete(ctx)
	case "update_golden":
		return updateGolden(ctx, c)
	}
	return fmt.Errorf("unknown command %q: want show, apply, delete or update_golden", command)
}

// config is what a command works on.
type config struct {
	// Tree is the folder of //k8s:kustomize, Overlays the overlays in it.
	Tree     string
	Overlays []string
	// Deployment is the named overlay's.
	Deployment overlay.Deployment
}

// overlayDir is the folder of the overlay name.
func (c config) overlayDir(name string) string {
	return filepath.Join(c.Tree, "overlays", name)
}

// parse reads the command, the BUILD file's flags, the overlay and the
// user's flags.
func parse(args []string) (string, config, error) {
	var c config
	if len(args) == 0 {
		return "", c, fmt.Errorf("usage: k8s show|apply|delete|update_golden [flags] [OVERLAY] [flags]")
	}
	command := args[0]
	fs := flag.NewFlagSet("k8s "+command, flag.ContinueOnError)
	var images list
	tree := fs.String("tree", "", "the kustomizations' folder (runfiles path)")
	fs.Var(&images, "image", "DIGEST_FILE,PUSH: an image's .digest and its push target (runfiles paths; repeatable)")
	kubectl := fs.String("kubectl", "", "kubectl binary (runfiles path)")
	publicKey := fs.String("public-key", "", "the PEM public key every image must be signed with (runfiles or absolute path)")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default: kubectl's, i.e. $KUBECONFIG or ~/.kube/config)")
	kubeContext := fs.String("context", "", "kubeconfig context (default: its current context)")
	timeout := fs.String("timeout", "5m", "how long apply waits for each Deployment to roll out")
	// Flags, then the overlay, then flags again: `bazel run` puts the
	// user's words after the BUILD file's flags.
	if err := fs.Parse(args[1:]); err != nil {
		return "", c, err
	}
	name := defaultOverlay
	if fs.NArg() > 0 {
		name = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return "", c, err
		}
	}
	// A flag after a stray argument would be dropped without a word.
	if fs.NArg() > 0 {
		return "", c, fmt.Errorf("k8s %s: unexpected arguments %q (one overlay, then flags)", command, fs.Args())
	}

	var err error
	if c.Tree, err = kustomizations(*tree); err != nil {
		return "", c, err
	}
	if c.Overlays, err = overlays(c.Tree); err != nil {
		return "", c, err
	}
	if !slices.Contains(c.Overlays, name) {
		return "", c, fmt.Errorf("no overlay %q: want one of %s", name, strings.Join(c.Overlays, ", "))
	}
	d := &c.Deployment
	d.Dir, d.RolloutTimeout = c.overlayDir(name), *timeout
	for _, img := range images {
		paths, err := rlocations(img, 2)
		if err != nil {
			return "", c, fmt.Errorf("-image %s: %w", img, err)
		}
		d.Images = append(d.Images, overlay.BuiltImage{DigestFile: paths[0], Push: paths[1]})
	}
	if d.RunfilesRoot, err = ocipush.RunfilesRoot(); err != nil {
		return "", c, err
	}
	keyFile, err := runfiles.Rlocation(*publicKey)
	if err != nil {
		return "", c, fmt.Errorf("-public-key: %w", err)
	}
	key, err := attest.LoadPublicKey(keyFile)
	if err != nil {
		return "", c, fmt.Errorf("-public-key: %w", err)
	}
	// The registry's credentials as oci_push (crane) finds them: Docker's
	// config and credential helpers.
	if d.Verifier, err = attest.NewVerifier(key, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return "", c, err
	}
	if d.Kubectl.Path, err = runfiles.Rlocation(*kubectl); err != nil {
		return "", c, fmt.Errorf("-kubectl: %w", err)
	}
	if *kubeconfig != "" {
		d.Kubectl.Flags = append(d.Kubectl.Flags, "--kubeconfig", *kubeconfig)
	}
	if *kubeContext != "" {
		d.Kubectl.Flags = append(d.Kubectl.Flags, "--context", *kubeContext)
	}
	d.Kubectl.Stdout, d.Kubectl.Stderr = os.Stdout, os.Stderr
	return command, c, nil
}

// kustomizations is the real folder of the runfiles path tree. Runfiles
// are symlinks, and kustomize refuses files whose real path is outside the
// kustomization's folder; Bazel's output folder holds real copies.
func kustomizations(tree string) (string, error) {
	base, err := runfiles.Rlocation(tree + "/base/kustomization.yaml")
	if err != nil {
		return "", fmt.Errorf("-tree: %w", err)
	}
	real, err := filepath.EvalSymlinks(base)
	if err != nil {
		return "", fmt.Errorf("-tree: %w", err)
	}
	return filepath.Dir(filepath.Dir(real)), nil
}

// overlays lists the overlays of the folder tree.
func overlays(tree string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(tree, "overlays"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// rlocations resolves n comma-separated runfiles paths.
func rlocations(list string, n int) ([]string, error) {
	parts := strings.Split(list, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("want %d comma-separated files, got %d", n, len(parts))
	}
	for i, p := range parts {
		var err error
		if parts[i], err = runfiles.Rlocation(p); err != nil {
			return nil, err
		}
	}
	return parts, nil
}
