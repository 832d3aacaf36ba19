package kubedeploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Namespace is where the manifests put everything.
const Namespace = "bookstore"

// BuiltImage is an image's targets: the name the manifests use, its digest
// file (<image>.digest) and its oci_push target's script.
type BuiltImage struct {
	Name       string
	DigestFile string
	Push       string
}

// TLSFiles are the certificate, key and peer CA files of one TLS Secret.
type TLSFiles struct {
	Secret, Cert, Key, CA string
}

// Deployment is the whole system as the k8s/ targets describe it.
type Deployment struct {
	Manifests []string
	Images    []BuiltImage
	Secrets   []TLSFiles
	// Registry is where images are pushed and pulled from.
	Registry string
	// RunfilesRoot is where the push scripts run from, as under `bazel run`.
	RunfilesRoot string
	Kubectl      Kubectl
	// RolloutTimeout bounds the wait for every Deployment to be available.
	RolloutTimeout string
}

// Pinned reads the digest of every image from its image target.
func (d Deployment) Pinned() ([]Image, error) {
	var images []Image
	for _, img := range d.Images {
		b, err := os.ReadFile(img.DigestFile)
		if err != nil {
			return nil, err
		}
		images = append(images, Image{Name: img.Name, Digest: string(bytes.TrimSpace(b))})
	}
	return images, nil
}

// Render returns the manifests with every image pinned by digest.
func (d Deployment) Render() ([]*unstructured.Unstructured, error) {
	images, err := d.Pinned()
	if err != nil {
		return nil, err
	}
	return d.render(images)
}

func (d Deployment) render(images []Image) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, path := range d.Manifests {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		o, err := Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		objs = append(objs, o...)
	}
	if err := PinImages(objs, d.Registry, images); err != nil {
		return nil, err
	}
	return objs, nil
}

// Show writes the rendered manifests. The Secrets are left out: they hold
// private keys, and apply makes them from the certificate targets.
func (d Deployment) Show(w io.Writer) error {
	objs, err := d.Render()
	if err != nil {
		return err
	}
	if err := Encode(w, objs); err != nil {
		return err
	}
	for _, s := range d.Secrets {
		fmt.Fprintf(w, "# apply also creates Secret %s/%s (kubernetes.io/tls) from %s, %s and %s\n",
			Namespace, s.Secret, filepath.Base(s.Cert), filepath.Base(s.Key), filepath.Base(s.CA))
	}
	return nil
}

// Apply checks the manifests (Check), pushes the images, applies the
// manifests and the TLS Secrets, and waits until every Deployment has
// rolled out.
func (d Deployment) Apply(ctx context.Context, log io.Writer) error {
	images, err := d.Pinned()
	if err != nil {
		return err
	}
	objs, err := d.render(images)
	if err != nil {
		return err
	}
	if errs := Check(objs); len(errs) > 0 {
		return fmt.Errorf("the manifests fail the project's checks:\n%w", errors.Join(errs...))
	}
	// A cluster that does not answer (a wrong context, say) is found before
	// anything is pushed.
	if _, err := d.Kubectl.Output(ctx, "get", "--raw", "/readyz"); err != nil {
		return err
	}
	for i, img := range d.Images {
		repo := d.Registry + "/" + img.Name
		got, err := Push(ctx, img.Push, d.RunfilesRoot, repo)
		if err != nil {
			return err
		}
		if want := images[i].Digest; got != want {
			return fmt.Errorf("%s: pushed %s but the image target's digest is %s", img.Name, got, want)
		}
		fmt.Fprintf(log, "pushed %s@%s\n", repo, got)
	}
	for _, s := range d.Secrets {
		var files [3][]byte
		for i, path := range []string{s.Cert, s.Key, s.CA} {
			if files[i], err = os.ReadFile(path); err != nil {
				return err
			}
		}
		objs = append(objs, TLSSecret(Namespace, s.Secret, files[0], files[1], files[2]))
	}
	var stream bytes.Buffer
	if err := Encode(&stream, objs); err != nil {
		return err
	}
	if err := d.Kubectl.Run(ctx, stream.Bytes(), "apply", "-f", "-"); err != nil {
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
	return nil
}

// Delete removes everything apply made, in the reverse order: the
// namespace last, which takes the Secrets with it.
func (d Deployment) Delete(ctx context.Context) error {
	objs, err := d.Render()
	if err != nil {
		return err
	}
	slices.Reverse(objs)
	var stream bytes.Buffer
	if err := Encode(&stream, objs); err != nil {
		return err
	}
	return d.Kubectl.Run(ctx, stream.Bytes(), "delete", "--ignore-not-found", "--wait", "-f", "-")
}
