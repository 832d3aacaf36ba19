package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/onlinebooks/bookstore/go/tools/kubedeploy"
	"github.com/onlinebooks/bookstore/go/tools/overlay"
)

// The configuration //k8s:show and //k8s:apply work from, with the same
// arguments (K8S_ARGS, set in BUILD.bazel), for the overlay name.
func configFor(t *testing.T, name string) config {
	t.Helper()
	_, c, err := parse(append([]string{"show"}, append(strings.Fields(os.Getenv("K8S_ARGS")), name)...))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rendered decodes an overlay's render.
func rendered(t *testing.T, d overlay.Deployment) []*unstructured.Unstructured {
	t.Helper()
	b, err := d.Render(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kubedeploy.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// The overlays there are, and the registry each pins its images under.
var registries = map[string]string{
	"local":      "127.0.0.1:5005",
	"production": "registry.example.com",
}

func TestManifests_EveryOverlayIsTested(t *testing.T) {
	c := configFor(t, defaultOverlay)
	if len(c.Overlays) != len(registries) {
		t.Errorf("overlays: got %v, want those of %v", c.Overlays, registries)
	}
}

func TestManifests_PassTheChecks(t *testing.T) {
	for name := range registries {
		t.Run(name, func(t *testing.T) {
			for _, err := range kubedeploy.Check(rendered(t, configFor(t, name).Deployment)) {
				t.Error(err)
			}
		})
	}
}

// Each service's Deployment runs exactly the image its image target built,
// from the overlay's registry, and the admission policy admits that
// registry.
func TestManifests_ImagesAreTheBuiltOnes(t *testing.T) {
	for name, registry := range registries {
		t.Run(name, func(t *testing.T) {
			d := configFor(t, name).Deployment
			want := make(map[string]bool)
			for _, img := range d.Images {
				b, err := os.ReadFile(img.DigestFile)
				if err != nil {
					t.Fatal(err)
				}
				service := filepath.Base(filepath.Dir(img.DigestFile))
				want[registry+"/bookstore/"+service+"@"+strings.TrimSpace(string(b))] = true
			}
			objs := rendered(t, d)
			got, err := overlay.Images(objs)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Errorf("images: got %v, want %v", got, want)
			}
			for _, ref := range got {
				if !want[ref] {
					t.Errorf("image %s: want one of %v", ref, want)
				}
			}
			namespaces := 0
			for _, o := range objs {
				if o.GetKind() == "Namespace" {
					namespaces++
					if got := o.GetAnnotations()["onlinebooks.org/registry"]; got != registry {
						t.Errorf("the admission policy admits %q in namespace %s, want %q", got, o.GetName(), registry)
					}
				}
			}
			if namespaces != 1 {
				t.Errorf("%d Namespaces, want 1", namespaces)
			}
		})
	}
}

// Every Secret a pod mounts is one the local overlay makes; the production
// overlay holds no Secret at all (its certificates come from the cluster).
func TestManifests_MountedSecrets(t *testing.T) {
	for name := range registries {
		t.Run(name, func(t *testing.T) {
			objs := rendered(t, configFor(t, name).Deployment)
			made := make(map[string]bool)
			for _, o := range objs {
				if o.GetKind() == "Secret" {
					made[o.GetName()] = true
				}
			}
			mounted := 0
			for _, o := range objs {
				vols, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "volumes")
				for _, v := range vols {
					secret, ok, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName")
					if !ok {
						continue
					}
					mounted++
					if name == "local" && !made[secret] {
						t.Errorf("%s %s mounts Secret %q, which the overlay does not make", o.GetKind(), o.GetName(), secret)
					}
				}
			}
			if want := map[string]int{"local": mounted, "production": 0}[name]; len(made) != want {
				t.Errorf("%d Secrets made for %d mounted, want %d", len(made), mounted, want)
			}
		})
	}
}

// One overlay, then flags only: what follows a stray argument (a second
// `--`, say) would otherwise be dropped without a word.
func TestParse_Arguments(t *testing.T) {
	flags := strings.Fields(os.Getenv("K8S_ARGS"))
	tests := []struct {
		extra       []string
		wantOverlay string
		wantErr     string
	}{
		{extra: nil, wantOverlay: "local"},
		{extra: []string{"production"}, wantOverlay: "production"},
		{extra: []string{"production", "--context", "c"}, wantOverlay: "production"},
		{extra: []string{"--context", "c", "production"}, wantOverlay: "production"},
		{extra: []string{"staging"}, wantErr: `no overlay "staging": want one of local, production`},
		{extra: []string{"production", "--", "--context", "c"}, wantErr: `unexpected arguments ["--context" "c"]`},
		{extra: []string{"production", "local"}, wantErr: `unexpected arguments ["local"]`},
	}
	for _, tt := range tests {
		_, c, err := parse(append(append([]string{"show"}, flags...), tt.extra...))
		if got := errString(err); tt.wantErr == "" && got != "" || !strings.Contains(got, tt.wantErr) {
			t.Errorf("parse(show K8S_ARGS %q): got error %q, want one containing %q", tt.extra, got, tt.wantErr)
			continue
		}
		if got := filepath.Base(c.Deployment.Dir); err == nil && got != tt.wantOverlay {
			t.Errorf("parse(show K8S_ARGS %q): got overlay %q, want %q", tt.extra, got, tt.wantOverlay)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
