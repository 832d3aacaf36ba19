package main

import (
	"os"
	"strings"
	"testing"

	"github.com/bazelbuild/rules_go/go/runfiles"
	"github.com/google/go-cmp/cmp"
)

// Each overlay renders as its golden file says: a change of a manifest, a
// patch or kustomize's behaviour shows here, in review, before a cluster
// sees it.
func TestRender_MatchesGolden(t *testing.T) {
	// As //k8s:show and //k8s:update_golden, with their arguments.
	_, c, err := parse(append([]string{"show"}, strings.Fields(os.Getenv("K8S_ARGS"))...))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range c.Overlays {
		t.Run(name, func(t *testing.T) {
			got, err := goldenRender(t.Context(), c, name)
			if err != nil {
				t.Fatal(err)
			}
			file := goldenDir + "/" + name + ".yaml"
			path, err := runfiles.Rlocation("_main/" + file)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v: a new overlay needs `bazel run //k8s:update_golden`", err)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); diff != "" {
				t.Errorf("overlay %s renders otherwise than %s (-golden +rendered):\n%s\nIf the change is meant: bazel run //k8s:update_golden", name, file, diff)
			}
		})
	}
}
