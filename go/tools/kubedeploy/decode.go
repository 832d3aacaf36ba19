// Package kubedeploy holds the project's rules for what it deploys (Check),
// which //k8s:manifests_test applies to each overlay's rendered output.
package kubedeploy

import (
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

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
