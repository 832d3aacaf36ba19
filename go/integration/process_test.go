package integration

import (
	"os"
	"testing"
	"time"

	"github.com/bazelbuild/rules_go/go/runfiles"

	"github.com/onlinebooks/bookstore/go/processtest"
)

// startupLimit bounds how long a binary may take to start listening.
const startupLimit = 10 * time.Second

// start runs the binary named by the environment variable binEnv (a
// runfiles path set in BUILD.bazel) with args; only flags configure it.
func start(t *testing.T, binEnv string, args ...string) *processtest.Process {
	t.Helper()
	bin, err := runfiles.Rlocation(os.Getenv(binEnv))
	if err != nil {
		t.Fatalf("%s: %v", binEnv, err)
	}
	return processtest.Start(t, bin, args...)
}
