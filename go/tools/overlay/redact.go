package overlay

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Redacted stands in for every value of a Secret that is shown.
const Redacted = "(redacted)"

// Redact returns the manifests with each Secret's values (data and
// stringData) replaced by Redacted, and everything else as it was, in
// kustomize's order: through kyaml, kustomize's own YAML library, which
// keeps fields, order and style.
func Redact(manifests []byte) ([]byte, error) {
	var out bytes.Buffer
	err := kio.Pipeline{
		Inputs:  []kio.Reader{&kio.ByteReader{Reader: bytes.NewReader(manifests), OmitReaderAnnotations: true}},
		Filters: []kio.Filter{kio.FilterFunc(redactSecrets)},
		Outputs: []kio.Writer{kio.ByteWriter{Writer: &out}},
	}.Execute()
	if err != nil {
		return nil, fmt.Errorf("redacting the Secrets: %w", err)
	}
	return out.Bytes(), nil
}

func redactSecrets(nodes []*yaml.RNode) ([]*yaml.RNode, error) {
	for _, n := range nodes {
		if n.GetKind() != "Secret" {
			continue
		}
		for _, field := range []string{"data", "stringData"} {
			values := n.Field(field)
			if values == nil {
				continue
			}
			err := values.Value.VisitFields(func(f *yaml.MapNode) error {
				f.Value.YNode().Value, f.Value.YNode().Style = Redacted, 0
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return nodes, nil
}
