// Package emulated_test runs the binaries of every platform the images are
// built for (tools/oci/image.bzl): the machine's own natively, the other
// under user-mode QEMU. Each Recommendations must answer a gRPC health
// check, and the Marketplace of the same architecture must serve its page
// with books from it, all on loopback.
package emulated_test

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/onlinebooks/bookstore/go/testkit"
	"github.com/onlinebooks/bookstore/go/testkit/e2e"
)

// startupLimit bounds a binary's start; under emulation it takes seconds.
const startupLimit = time.Minute

// architectures are the images' architectures, each with the variable that
// names its user-mode emulator (qemu-user's binary for that CPU).
var architectures = []struct{ goarch, emulatorEnv string }{
	{"amd64", "QEMU_X86_64"},
	{"arm64", "QEMU_AARCH64"},
}

func TestBinariesServe(t *testing.T) {
	for _, arch := range architectures {
		t.Run(arch.goarch, func(t *testing.T) {
			start := starter(t, arch.goarch, arch.emulatorEnv)
			recs := start("RECOMMENDATIONS", "-grpc-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0")
			recsAddrs := recs.ListenAddrs(startupLimit, "api", "admin")
			if got, code := testkit.HealthCheck(t, recsAddrs["admin"]); code != codes.OK || got != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("recommendations health: got %s (%s), want SERVING", got, code)
			}

			market := start("MARKETPLACE", "-http-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0",
				"-recommendations-host="+recsAddrs["api"], "-recommendations-timeout=5s")
			base := "http://" + market.ListenAddrs(startupLimit, "page", "admin")["page"]
			// Ready once its first call to Recommendations went through.
			if !testkit.Eventually(startupLimit, func() bool { code, _ := testkit.Get(base + "/readyz"); return code == http.StatusOK }) {
				t.Fatalf("marketplace /readyz not 200 within %s", startupLimit)
			}
			e2e.CheckBooks(t, base)
		})
	}
}

// starter returns how to start a service's binary for goarch, named by
// <SERVICE>_<GOARCH> (BUILD.bazel): directly on a machine of that
// architecture, else under the emulator that emulatorEnv names.
func starter(t *testing.T, goarch, emulatorEnv string) func(service string, args ...string) *testkit.Process {
	t.Helper()
	var emulator string
	if goarch != runtime.GOARCH {
		emulator = os.Getenv(emulatorEnv)
		if emulator == "" {
			t.Fatalf("%s is not set: it names user-mode QEMU for linux/%s (Debian's qemu-user), which runs this machine's %s binaries; tools/offline.bazelrc sets it for tools/test", emulatorEnv, goarch, goarch)
		}
	}
	return func(service string, args ...string) *testkit.Process {
		t.Helper()
		bin := testkit.Runfile(t, fmt.Sprintf("%s_%s", service, strings.ToUpper(goarch)))
		if emulator == "" {
			return testkit.Start(t, bin, args...)
		}
		return testkit.Start(t, emulator, append([]string{bin}, args...)...)
	}
}
