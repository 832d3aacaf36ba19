package main

import (
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/onlinebooks/bookstore/go/tools/kubedeploy"
)

// The manifests as //k8s:show and //k8s:apply render them, from the same
// arguments (K8S_ARGS, set in BUILD.bazel).
func rendered(t *testing.T) (kubedeploy.Deployment, []*unstructured.Unstructured) {
	t.Helper()
	_, d, err := parse(append([]string{"show"}, strings.Fields(os.Getenv("K8S_ARGS"))...))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := d.Render()
	if err != nil {
		t.Fatal(err)
	}
	return d, objs
}

func TestManifests_PassTheChecks(t *testing.T) {
	_, objs := rendered(t)
	for _, err := range kubedeploy.Check(objs) {
		t.Error(err)
	}
}

// Each service's Deployment runs exactly the image its image target built.
func TestManifests_ImagesAreTheBuiltOnes(t *testing.T) {
	d, objs := rendered(t)
	images, err := d.Pinned()
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[string]string)
	for _, img := range images {
		want[strings.TrimPrefix(img.Name, "bookstore/")] = img.Ref(d.Registry)
	}
	got := make(map[string]string)
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for _, c := range cs {
			got[o.GetName()] = c.(map[string]any)["image"].(string)
		}
	}
	if len(got) != 2 || got["recommendations"] != want["recommendations"] || got["marketplace"] != want["marketplace"] {
		t.Errorf("images: got %v, want %v", got, want)
	}
}

// Every Secret a pod mounts is one that apply creates.
func TestManifests_MountedSecretsAreCreated(t *testing.T) {
	d, objs := rendered(t)
	created := make(map[string]bool)
	for _, s := range d.Secrets {
		created[s.Secret] = true
	}
	mounted := 0
	for _, o := range objs {
		vols, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "volumes")
		for _, v := range vols {
			name, ok, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName")
			if !ok {
				continue
			}
			mounted++
			if !created[name] {
				t.Errorf("%s %s mounts Secret %q, which apply does not create", o.GetKind(), o.GetName(), name)
			}
		}
	}
	if mounted != len(created) {
		t.Errorf("%d Secret volumes for %d Secrets created, want one each", mounted, len(created))
	}
}

// Flags only: what follows a stray argument (a second `--`, say) would
// otherwise be dropped without a word.
func TestParse_ArgumentsBeyondFlags(t *testing.T) {
	flags := strings.Fields(os.Getenv("K8S_ARGS"))
	tests := []struct {
		extra   []string
		wantErr string
	}{
		{[]string{"-context", "c"}, ""},
		{[]string{"--", "-context", "c"}, `unexpected arguments ["-context" "c"]`},
		{[]string{"extra"}, `unexpected arguments ["extra"]`},
	}
	for _, tt := range tests {
		args := append(append([]string{"show"}, flags...), tt.extra...)
		_, _, err := parse(args)
		if got := errString(err); tt.wantErr == "" && got != "" || !strings.Contains(got, tt.wantErr) {
			t.Errorf("parse(show K8S_ARGS %q): got error %q, want one containing %q", tt.extra, got, tt.wantErr)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
