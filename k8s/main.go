// Command k8s is //k8s:show, //k8s:apply and //k8s:delete: the BUILD file
// gives it the manifests, the image targets' outputs, the certificates and
// kubectl, and the user adds the flags after `--`:
//
//	bazel run //k8s:show
//	bazel run //k8s:apply [-- -context NAME] [-- -kubeconfig FILE] [-- -registry HOST:PORT]
//	bazel run //k8s:delete [-- -context NAME]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/bazelbuild/rules_go/go/runfiles"

	"github.com/onlinebooks/bookstore/go/tools/kubedeploy"
)

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
	command, d, err := parse(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	switch command {
	case "show":
		return d.Show(os.Stdout)
	case "apply":
		return d.Apply(ctx, os.Stdout)
	case "delete":
		return d.Delete(ctx)
	}
	return fmt.Errorf("unknown command %q: want show, apply or delete", command)
}

// parse reads the command and its flags into the Deployment they describe.
func parse(args []string) (string, kubedeploy.Deployment, error) {
	var d kubedeploy.Deployment
	if len(args) == 0 {
		return "", d, fmt.Errorf("usage: k8s show|apply|delete [flags]")
	}
	command := args[0]
	fs := flag.NewFlagSet("k8s "+command, flag.ContinueOnError)
	var manifests, images, secrets list
	fs.Var(&manifests, "manifest", "a manifest file (runfiles path; repeatable)")
	fs.Var(&images, "image", "NAME=DIGEST_FILE,PUSH: an image's .digest and oci_push script (runfiles paths; repeatable)")
	fs.Var(&secrets, "tls-secret", "SECRET=CERT,KEY,CA: a TLS Secret's files (runfiles paths; repeatable)")
	kubectl := fs.String("kubectl", "", "kubectl binary (runfiles path)")
	registry := fs.String("registry", "127.0.0.1:5005", "registry the images are pushed to and the cluster pulls from")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default: kubectl's, i.e. $KUBECONFIG or ~/.kube/config)")
	kubeContext := fs.String("context", "", "kubeconfig context (default: its current context)")
	timeout := fs.String("timeout", "5m", "how long apply waits for each Deployment to roll out")
	if err := fs.Parse(args[1:]); err != nil {
		return "", d, err
	}
	// A flag after a stray argument would be dropped without a word.
	if fs.NArg() > 0 {
		return "", d, fmt.Errorf("k8s %s: unexpected arguments %q (flags only)", command, fs.Args())
	}

	d.Registry, d.RolloutTimeout = *registry, *timeout
	for _, m := range manifests {
		path, err := runfiles.Rlocation(m)
		if err != nil {
			return "", d, err
		}
		d.Manifests = append(d.Manifests, path)
	}
	for _, img := range images {
		name, files, _ := strings.Cut(img, "=")
		paths, err := rlocations(files, 2)
		if err != nil {
			return "", d, fmt.Errorf("-image %s: %w", img, err)
		}
		d.Images = append(d.Images, kubedeploy.BuiltImage{Name: name, DigestFile: paths[0], Push: paths[1]})
	}
	for _, s := range secrets {
		name, files, _ := strings.Cut(s, "=")
		paths, err := rlocations(files, 3)
		if err != nil {
			return "", d, fmt.Errorf("-tls-secret %s: %w", s, err)
		}
		d.Secrets = append(d.Secrets, kubedeploy.TLSFiles{Secret: name, Cert: paths[0], Key: paths[1], CA: paths[2]})
	}
	var err error
	if d.RunfilesRoot, err = runfilesRoot(); err != nil {
		return "", d, err
	}
	if d.Kubectl.Path, err = runfiles.Rlocation(*kubectl); err != nil {
		return "", d, fmt.Errorf("-kubectl: %w", err)
	}
	if *kubeconfig != "" {
		d.Kubectl.Flags = append(d.Kubectl.Flags, "--kubeconfig", *kubeconfig)
	}
	if *kubeContext != "" {
		d.Kubectl.Flags = append(d.Kubectl.Flags, "--context", *kubeContext)
	}
	d.Kubectl.Stdout, d.Kubectl.Stderr = os.Stdout, os.Stderr
	return command, d, nil
}

// runfilesRoot is the main repository's folder of this binary's (or test's)
// runfiles tree: where `bazel run` starts a target, and where the push
// scripts find their files.
func runfilesRoot() (string, error) {
	r, err := runfiles.New()
	if err != nil {
		return "", err
	}
	for _, kv := range r.Env() {
		if dir, ok := strings.CutPrefix(kv, "RUNFILES_DIR="); ok {
			// Under Bzlmod the main repository's folder is always _main.
			return filepath.Join(dir, "_main"), nil
		}
	}
	return "", errors.New("no runfiles directory: run this through `bazel run //k8s:apply`")
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
