package integration

import (
	"testing"
	"time"

	"github.com/onlinebooks/bookstore/go/testkit"
)

// startupLimit bounds how long a binary may take to start listening.
const startupLimit = 10 * time.Second

// start runs the binary named by the environment variable binEnv (a
// runfiles path set in BUILD.bazel) with args; only flags configure it.
func start(t *testing.T, binEnv string, args ...string) *testkit.Process {
	t.Helper()
	return testkit.Start(t, testkit.Runfile(t, binEnv), args...)
}
