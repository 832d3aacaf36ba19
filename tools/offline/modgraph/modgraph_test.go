package modgraph

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestRootDeps(t *testing.T) {
	got, err := RootDeps(`module(name = "x", version = "1")
bazel_dep(name = "rules_go", version = "0.59.0")
bazel_dep(
    name = "gazelle",
    version = "0.54.0",
)
bazel_dep(name = "buildifier", version = "8.0.0", dev_dependency = True)
bazel_dep(name = "protobuf", version = "29.3", repo_name = "com_google_protobuf")
`)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"rules_go": "0.59.0", "gazelle": "0.54.0", "protobuf": "29.3"}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestGraph(t *testing.T) {
	got, err := Graph([]byte(`{"key": "<root>", "name": "bookstore", "version": "0.1.0", "root": true,
	 "dependencies": [{"key": "rules_go@_", "name": "rules_go", "version": "",
	   "dependencies": [{"key": "platforms@_", "name": "platforms", "version": "0.0.10"}]},
	  {"key": "rules_pkg@_", "name": "rules_pkg", "version": "0.9.1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"rules_go": "", "platforms": "0.0.10", "rules_pkg": "0.9.1"}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestOverrides(t *testing.T) {
	got := Overrides("# x\ncommon:offline --override_module=rules_go=/a\ncommon:offline --override_module=zlib=%workspace%/b\ncommon --other\n")
	if want := []string{"rules_go", "zlib"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCheck(t *testing.T) {
	want := Expected{
		Root:     map[string]string{"rules_go": "0.59.0", "rules_pkg": "1.0.1"},
		Resolved: map[string]string{"rules_go": "0.59.0", "rules_pkg": "1.0.1", "platforms": "1.1.0", "zlib": "1.3.1"},
		Offline: map[string]Difference{
			"rules_pkg": {Version: "0.9.1", Why: "Debian's"},
			"zlib":      {Version: Absent, Why: "stand-in"},
		},
	}
	root := map[string]string{"rules_go": "0.59.0", "rules_pkg": "1.0.1"}
	offline := map[string]string{"rules_go": "0.59.0", "rules_pkg": "0.9.1", "platforms": "1.1.0"}
	overrides := []string{"rules_pkg", "zlib"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := maps.Clone(m)
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name      string
		root      map[string]string
		overrides []string
		offline   map[string]string
		want      string // a problem's text, or "" for none
	}{
		{"as recorded", root, overrides, offline, ""},
		{"bazel_dep version changed", with(root, "rules_go", "0.60.0"), overrides, offline, "MODULE.bazel asks for rules_go 0.60.0; module_graph.json records 0.59.0"},
		{"root asks below resolution", with(root, "rules_pkg", "0.9.1"), overrides, offline, "MODULE.bazel asks for rules_pkg 0.9.1 but a connected user resolves 1.0.1"},
		{"new bazel_dep", with(root, "rules_oci", "2.2.6"), overrides, offline, "MODULE.bazel depends on rules_oci 2.2.6, which module_graph.json does not record"},
		{"bazel_dep removed", with(root, "rules_pkg", ""), overrides, offline, "MODULE.bazel no longer depends on rules_pkg"},
		{"unexplained override", root, append(overrides, "rules_cc"), offline, "tools/offline.bazelrc overrides rules_cc"},
		{"unexplained version", root, overrides, with(offline, "platforms", "0.0.10"), `platforms: offline graph has "0.0.10", a connected user "1.1.0"`},
		{"unexplained absence", root, overrides, with(offline, "platforms", ""), `platforms: offline graph has "absent"`},
		{"allowed difference changed", root, overrides, with(offline, "rules_pkg", "0.9.2"), `rules_pkg: offline graph has "0.9.2", module_graph.json says "0.9.1"`},
		{"extra module", root, overrides, with(offline, "stardoc", "0.7.0"), "offline graph has stardoc 0.7.0, which a connected user does not resolve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check(want, tt.root, tt.overrides, tt.offline)
			if tt.want == "" {
				if len(got) != 0 {
					t.Errorf("got problems %q, want none", got)
				}
				return
			}
			if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("got %q, want one containing %q", got, tt.want)
			}
		})
	}
}
