package kubedeploy

import (
	"strings"
	"testing"
)

func TestDecode_Errors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", "kind"},
		{"no name", "apiVersion: v1\nkind: Service\n", "metadata.name"},
		{"not YAML", "apiVersion: [v1\n", "object 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(strings.NewReader(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode: got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
