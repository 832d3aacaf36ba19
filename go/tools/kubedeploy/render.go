// Package kubedeploy renders the manifests of k8s/ for a cluster, with every
// image pinned by digest and the TLS Secrets made from certificate files, and
// applies or deletes them with kubectl. It is the logic of //k8s:show,
// //k8s:apply and //k8s:delete.
package kubedeploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Image is one image of the manifests: Name as the manifests write it
// ("bookstore/recommendations"), pinned to Digest ("sha256:...").
type Image struct {
	Name   string
	Digest string
}

// Ref is where the cluster pulls the image from: its name under registry,
// by digest, so a tag moved later cannot change what runs.
func (i Image) Ref(registry string) string {
	return strings.TrimSuffix(registry, "/") + "/" + i.Name + "@" + i.Digest
}

// Decode reads the objects of a multi-document YAML stream.
func Decode(r io.Reader) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", len(objs)+1, err)
		}
		if m == nil { // an empty document
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("object %d: apiVersion, kind and metadata.name are required", len(objs)+1)
		}
		objs = append(objs, u)
	}
}

// PinImages points every container of every Deployment at its image under
// registry, by digest. A container whose image is not among images, or an
// image that no container uses, is an error: nothing may run unpinned, and a
// built image that is never deployed is a mistake in the BUILD file.
func PinImages(objs []*unstructured.Unstructured, registry string, images []Image) error {
	used := make(map[string]bool)
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		for _, field := range []string{"initContainers", "containers"} {
			path := []string{"spec", "template", "spec", field}
			containers, _, err := unstructured.NestedSlice(o.Object, path...)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", o.GetKind(), o.GetName(), err)
			}
			for _, c := range containers {
				c, ok := c.(map[string]any)
				if !ok {
					return fmt.Errorf("%s/%s: a container is not an object", o.GetKind(), o.GetName())
				}
				name, _ := c["image"].(string)
				i := slices.IndexFunc(images, func(img Image) bool { return img.Name == name })
				if i < 0 {
					return fmt.Errorf("%s/%s: container %v: image %q is not one of the built images", o.GetKind(), o.GetName(), c["name"], name)
				}
				c["image"] = images[i].Ref(registry)
				used[name] = true
			}
			if containers != nil {
				if err := unstructured.SetNestedSlice(o.Object, containers, path...); err != nil {
					return err
				}
			}
		}
	}
	for _, img := range images {
		if !used[img.Name] {
			return fmt.Errorf("image %q is used by no container", img.Name)
		}
	}
	return nil
}

// TLSSecret is a kubernetes.io/tls Secret holding a certificate, its key and
// the CA that the peer's certificate must chain to, as the files tls.crt,
// tls.key and ca.crt of the volume that mounts it.
func TLSSecret(namespace, name string, cert, key, ca []byte) *unstructured.Unstructured {
	s := &unstructured.Unstructured{}
	s.SetAPIVersion("v1")
	s.SetKind("Secret")
	s.SetNamespace(namespace)
	s.SetName(name)
	s.SetLabels(map[string]string{"app.kubernetes.io/part-of": "bookstore"})
	s.Object["type"] = "kubernetes.io/tls"
	// stringData keeps the PEM readable; the API server stores it as data.
	s.Object["stringData"] = map[string]any{"tls.crt": string(cert), "tls.key": string(key), "ca.crt": string(ca)}
	return s
}

// Encode writes objs as one YAML stream.
func Encode(w io.Writer, objs []*unstructured.Unstructured) error {
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", o.GetKind(), o.GetName(), err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
