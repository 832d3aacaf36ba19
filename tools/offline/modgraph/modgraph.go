// Package modgraph compares the module graph that Bazel resolves offline
// (tools/offline.bazelrc's overrides) with the one a connected user
// resolves from the Bazel Central Registry, as tools/offline/module_graph.json
// records it, so that every difference is one that file lists and explains.
package modgraph

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Absent is the offline version of a module the offline graph lacks.
const Absent = "absent"

// Expected is tools/offline/module_graph.json.
type Expected struct {
	// Root is what MODULE.bazel asks for; Resolved what resolution selects.
	Root     map[string]string `json:"root"`
	Resolved map[string]string `json:"resolved"`
	// Offline lists each module that differs offline: the version the
	// offline graph shows (or Absent), and why.
	Offline map[string]Difference `json:"offline"`
}

// Difference is one allowed difference of the offline graph.
type Difference struct {
	Version string `json:"version"`
	Why     string `json:"why"`
}

// Graph reads `bazel mod graph --output=json` into module name -> version.
func Graph(b []byte) (map[string]string, error) {
	type node struct {
		Key          string `json:"key"`
		Name         string `json:"name"`
		Version      string `json:"version"`
		Root         bool   `json:"root"`
		Dependencies []node `json:"dependencies"`
	}
	var root node
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("module graph: %w", err)
	}
	modules := map[string]string{}
	var walk func(n node)
	walk = func(n node) {
		if !n.Root {
			modules[n.Name] = n.Version
		}
		for _, d := range n.Dependencies {
			walk(d)
		}
	}
	walk(root)
	return modules, nil
}

var bazelDep = regexp.MustCompile(`(?s)bazel_dep\((.*?)\)`)
var attr = regexp.MustCompile(`(\w+) = ("[^"]*"|True|False)`)

// RootDeps reads MODULE.bazel's non-dev bazel_dep lines: name -> version.
func RootDeps(moduleBazel string) (map[string]string, error) {
	deps := map[string]string{}
	for _, m := range bazelDep.FindAllStringSubmatch(moduleBazel, -1) {
		attrs := map[string]string{}
		for _, a := range attr.FindAllStringSubmatch(m[1], -1) {
			attrs[a[1]] = strings.Trim(a[2], `"`)
		}
		if attrs["dev_dependency"] == "True" {
			continue
		}
		if attrs["name"] == "" {
			return nil, fmt.Errorf("MODULE.bazel: a bazel_dep without a name: %s", m[0])
		}
		deps[attrs["name"]] = attrs["version"]
	}
	return deps, nil
}

var override = regexp.MustCompile(`(?m)^common:offline --override_module=([^=\s]+)=`)

// Overrides reads the modules tools/offline.bazelrc overrides.
func Overrides(rc string) []string {
	var names []string
	for _, m := range override.FindAllStringSubmatch(rc, -1) {
		names = append(names, m[1])
	}
	return names
}

// Check returns every way the offline graph, the root's dependencies and
// the overrides disagree with want.
func Check(want Expected, root map[string]string, overrides []string, offline map[string]string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for _, name := range keys(root, want.Root) {
		got, ok := root[name]
		switch wantV, recorded := want.Root[name]; {
		case !ok:
			add("MODULE.bazel no longer depends on %s; module_graph.json records %s %s", name, name, wantV)
		case !recorded:
			add("MODULE.bazel depends on %s %s, which module_graph.json does not record: resolve against the registry and record it", name, got)
		case got != wantV:
			add("MODULE.bazel asks for %s %s; module_graph.json records %s: resolve against the registry and update it", name, got, wantV)
		}
		if r, ok := want.Resolved[name]; ok && root[name] != "" && root[name] != r {
			add("MODULE.bazel asks for %s %s but a connected user resolves %s: ask for what is used", name, root[name], r)
		}
	}
	for _, name := range overrides {
		if _, ok := want.Offline[name]; !ok {
			add("tools/offline.bazelrc overrides %s, which module_graph.json's offline list does not explain", name)
		}
	}
	for _, name := range keys(want.Resolved, offline) {
		connected, inConnected := want.Resolved[name]
		got, inOffline := offline[name]
		if !inOffline {
			got = Absent
		}
		diff, allowed := want.Offline[name]
		switch {
		case !inConnected:
			add("offline graph has %s %s, which a connected user does not resolve", name, got)
		case allowed && diff.Version != got:
			add("%s: offline graph has %q, module_graph.json says %q (%s)", name, got, diff.Version, diff.Why)
		case !allowed && got != connected:
			add("%s: offline graph has %q, a connected user %q, and module_graph.json does not allow it", name, got, connected)
		}
	}
	for name := range want.Offline {
		if _, ok := want.Resolved[name]; !ok {
			add("module_graph.json explains %s, which a connected user does not resolve", name)
		}
	}
	slices.Sort(problems)
	return problems
}

func keys(a, b map[string]string) []string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}
