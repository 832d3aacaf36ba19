package overlay

import (
	"strings"
	"testing"
)

// notSecrets are objects Redact leaves as kustomize wrote them, in their
// order, with their keys in theirs.
const notSecrets = `kind: ConfigMap
apiVersion: v1
metadata:
  name: web
data:
  key: value
---
apiVersion: v1
kind: Service
metadata:
  name: web
`

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "a Secret's data and stringData",
			in: `apiVersion: v1
kind: Secret
metadata:
  name: web-tls
data:
  tls.key: S0VZCg==
stringData:
  ca.crt: |
    CA
type: kubernetes.io/tls
`,
			want: `apiVersion: v1
kind: Secret
metadata:
  name: web-tls
data:
  tls.key: (redacted)
stringData:
  ca.crt: (redacted)
type: kubernetes.io/tls
`,
		},
		{
			name: "other kinds as they were, in their order",
			in:   notSecrets,
			want: notSecrets,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Redact([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Redact:\ngot:\n%s\nwant:\n%s", got, tt.want)
			}
			if strings.Contains(string(got), "S0VZ") || strings.Contains(string(got), "CA\n") {
				t.Errorf("Redact left a Secret's value in:\n%s", got)
			}
		})
	}
}

func TestRedact_NotYAML(t *testing.T) {
	if _, err := Redact([]byte("kind: [Secret\n")); err == nil {
		t.Error("Redact of broken YAML: got no error")
	}
}
