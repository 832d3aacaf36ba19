package overlay

import (
	"bytes"
	"fmt"
	"regexp"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// GoldenHeader opens every golden render.
const GoldenHeader = "# Written by `bazel run //k8s:update_golden`; //k8s:render_test holds the overlay to it.\n"

var digest = regexp.MustCompile(`@sha256:[0-9a-f]{64}`)

// Golden is what an overlay's golden file holds of its render: the Secrets'
// values redacted and every digest a placeholder, so that a rebuilt image
// changes no golden file and a changed manifest does.
func Golden(manifests []byte) ([]byte, error) {
	redacted, err := Redact(manifests)
	if err != nil {
		return nil, err
	}
	return append([]byte(GoldenHeader), digest.ReplaceAll(redacted, []byte("@sha256:DIGEST"))...), nil
}

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
