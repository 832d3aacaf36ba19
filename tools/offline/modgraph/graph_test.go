package modgraph

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/bazelbuild/rules_go/go/runfiles"
)

// TestOfflineGraph compares this machine's offline module graph (tools/test
// writes `bazel mod graph --output=json` to $MODULE_GRAPH) with a connected
// user's, as module_graph.json records it.
func TestOfflineGraph(t *testing.T) {
	path := os.Getenv("MODULE_GRAPH")
	if path == "" {
		t.Fatal("MODULE_GRAPH is not set: tools/test runs this test with the offline `bazel mod graph --output=json`")
	}
	graph, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	offline, err := Graph(graph)
	if err != nil {
		t.Fatal(err)
	}
	var want Expected
	if err := json.Unmarshal(runfile(t, "EXPECTED"), &want); err != nil {
		t.Fatalf("module_graph.json: %v", err)
	}
	root, err := RootDeps(string(runfile(t, "MODULE_BAZEL")))
	if err != nil {
		t.Fatal(err)
	}
	problems := Check(want, root, Overrides(string(runfile(t, "OFFLINE_BAZELRC"))), offline)
	if len(problems) > 0 {
		t.Errorf("the offline module graph differs from a connected user's in ways tools/offline/module_graph.json does not list:\n  %s", strings.Join(problems, "\n  "))
	}
	t.Logf("%d modules offline, %d connected, %d differences listed", len(offline), len(want.Resolved), len(want.Offline))
}

func runfile(t *testing.T, env string) []byte {
	t.Helper()
	path, err := runfiles.Rlocation(os.Getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
