// Package overlay shows, applies and deletes a kustomize overlay of k8s/
// with kubectl: the logic of //k8s:show, //k8s:apply and //k8s:delete.
// kustomize renders (images by digest, the Secrets from their files); this
// package pushes the images the rendered manifests run, keeps the Secrets'
// keys off the screen and waits for the rollout.
package overlay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/onlinebooks/bookstore/go/tools/attest"
	"github.com/onlinebooks/bookstore/go/tools/kubedeploy"
	"github.com/onlinebooks/bookstore/go/tools/ocipush"
)

// BuiltImage is an image target's outputs: its digest file (<image>.digest)
// and its push target (tools/oci:push.bzl's signed push).
type BuiltImage struct {
	DigestFile string
	Push       string
}

// Deployment is one kustomization applied to one cluster.
type Deployment struct {
	// Dir is the kustomization's folder: an overlay of //k8s:kustomize, or
	// one that wraps it (the end-to-end test's throwaway namespace).
	Dir    string
	Images []BuiltImage
	// RunfilesRoot is where the push scripts run from, as under `bazel run`.
	RunfilesRoot string
	// Verifier checks each image before anything is applied.
	Verifier *attest.Verifier
	Kubectl  Kubectl
	// RolloutTimeout bounds the wait for every Deployment to be available.
	RolloutTimeout string
}

// Render is `kubectl kustomize` of the folder: what apply sends, Secrets'
// keys included.
func (d Deployment) Render(ctx context.Context) ([]byte, error) {
	var out bytes.Buffer
	k := d.Kubectl
	k.Stdout = &out
	if err := k.Run(ctx, nil, "kustomize", d.Dir); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Show writes the rendered manifests with the Secrets' values redacted.
func (d Deployment) Show(ctx context.Context, w io.Writer) error {
	rendered, err := d.Render(ctx)
	if err != nil {
		return err
	}
	shown, err := Redact(rendered)
	if err != nil {
		return err
	}
	_, err = w.Write(shown)
	return err
}

// Apply checks the rendered manifests (kubedeploy.Check), pushes the built
// images they run (each by its push target, to the repository the
// manifests name, signed), verifies every image they run against the
// public key (attest: a signature, a provenance and an SBOM of each
// platform, signed by it), applies the kustomization (`kubectl apply -k`)
// and waits until every Deployment has rolled out. An image that fails
// verification stops it before anything is applied.
func (d Deployment) Apply(ctx context.Context, log io.Writer) error {
	started := time.Now()
	rendered, err := d.Render(ctx)
	if err != nil {
		return err
	}
	objs, err := kubedeploy.Decode(bytes.NewReader(rendered))
	if err != nil {
		return err
	}
	if errs := kubedeploy.Check(objs); len(errs) > 0 {
		return fmt.Errorf("the manifests fail the project's checks:\n%w", errors.Join(errs...))
	}
	// A cluster that does not answer (a wrong context, say) is found before
	// anything is pushed.
	if _, err := d.Kubectl.Output(ctx, "get", "--raw", "/readyz"); err != nil {
		return err
	}
	if err := d.push(ctx, objs, log); err != nil {
		return err
	}
	if err := d.verify(ctx, objs, log); err != nil {
		return err
	}
	pushed := time.Now()
	if err := d.Kubectl.Run(ctx, nil, "apply", "-k", d.Dir); err != nil {
		return err
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		if err := d.Kubectl.Run(ctx, nil, "rollout", "status", "--namespace", o.GetNamespace(),
			"deployment/"+o.GetName(), "--timeout", d.RolloutTimeout); err != nil {
			return err
		}
	}
	fmt.Fprintf(log, "pushed and verified in %.1fs, applied and rolled out in %.1fs\n",
		pushed.Sub(started).Seconds(), time.Since(pushed).Seconds())
	return nil
}

// push pushes every image a Deployment of objs runs, REPOSITORY@DIGEST,
// that a target built. The others must be in the registry already, and are
// verified like the rest.
func (d Deployment) push(ctx context.Context, objs []*unstructured.Unstructured, log io.Writer) error {
	built := make(map[string]BuiltImage)
	for _, img := range d.Images {
		b, err := os.ReadFile(img.DigestFile)
		if err != nil {
			return err
		}
		built[string(bytes.TrimSpace(b))] = img
	}
	refs, err := Images(objs)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		repo, digest, _ := strings.Cut(ref, "@")
		img, ok := built[digest]
		if !ok {
			continue
		}
		want, err := name.NewDigest(ref)
		if err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
		got, err := ocipush.Push(ctx, img.Push, d.RunfilesRoot, "--repository", repo)
		if err != nil {
			return err
		}
		if got.Name() != want.Name() {
			return fmt.Errorf("pushed %s, want %s", got, want)
		}
		fmt.Fprintf(log, "pushed %s\n", ref)
	}
	return nil
}

// verify checks every image a Deployment of objs runs with d.Verifier.
func (d Deployment) verify(ctx context.Context, objs []*unstructured.Unstructured, log io.Writer) error {
	refs, err := Images(objs)
	if err != nil {
		return err
	}
	var errs []error
	for _, ref := range refs {
		digest, err := name.NewDigest(ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("image %s: not pinned by digest: %w", ref, err))
			continue
		}
		got, err := d.Verifier.Check(ctx, digest)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(log, "verified %s: signature, provenance, SBOMs of %s\n", ref, strings.Join(got.Platforms, ", "))
	}
	if len(errs) > 0 {
		return fmt.Errorf("refusing to apply: images fail verification with the public key; nothing was applied:\n%w", errors.Join(errs...))
	}
	return nil
}

// Images lists the distinct images the Deployments of objs run.
func Images(objs []*unstructured.Unstructured) ([]string, error) {
	var refs []string
	seen := make(map[string]bool)
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		for _, field := range []string{"initContainers", "containers"} {
			containers, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
			if err != nil {
				return nil, fmt.Errorf("Deployment %s: %w", o.GetName(), err)
			}
			for _, c := range containers {
				image, _ := c.(map[string]any)["image"].(string)
				if !seen[image] {
					seen[image] = true
					refs = append(refs, image)
				}
			}
		}
	}
	return refs, nil
}

// Delete removes what the kustomization makes, the namespace with it, and
// waits until it is gone.
func (d Deployment) Delete(ctx context.Context) error {
	return d.Kubectl.Run(ctx, nil, "delete", "-k", d.Dir, "--ignore-not-found", "--wait")
}
