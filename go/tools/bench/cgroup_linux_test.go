package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A process that only spins, confined to 10 millicores (1 ms of CPU per
// 100 ms period), spends its quota in every period it runs in, however
// busy the machine: its cgroup's cpu.stat, read as the overload run reads
// it, must show it stopped.
func TestConfine(t *testing.T) {
	pid, stop := startSpinner(t)
	remove, stat, err := confine(pid, fmt.Sprintf("bookstore-bench-test-%d", pid), 10, limitMemory)
	if err != nil {
		if errors.Is(err, syscall.EROFS) {
			t.Skipf("cgroups are read-only in this sandbox (tools/test's is not): %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); remove() }) // a cgroup goes once its process has
	before, err := readCFSStats(stat)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	after, err := readCFSStats(stat)
	if err != nil {
		t.Fatal(err)
	}
	if throttled, stop := after.since(before); throttled < 0.5 || stop <= 0 {
		t.Errorf("spinning at 10 millicores for 1 s: stopped in %.2f of periods for %v each (%+v, then %+v); want most, each stopped", throttled, stop, before, after)
	}
}

// A cgroup of the name confine gives is there already, in the hierarchy it
// writes last (a crashed run's, whose pid has come round again): confine
// fails, and leaves neither a cgroup of its own nor the process in one. On
// version 2 that is the one cgroup, made before the process joins it; on
// version 1 the process has joined the cpu cgroup when the memory one fails.
func TestConfine_Taken(t *testing.T) {
	pid, stop := startSpinner(t)
	name := fmt.Sprintf("bookstore-bench-test-%d", pid)
	taken := filepath.Join(cgroupRoot, name)
	if !cgroupV2() {
		taken = filepath.Join(cgroupRoot, "memory", name)
	}
	if err := os.Mkdir(taken, 0o755); errors.Is(err, syscall.EROFS) {
		t.Skipf("cgroups are read-only in this sandbox (tools/test's is not): %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(taken) })

	remove, _, err := confine(pid, name, 10, limitMemory)
	if err == nil {
		t.Cleanup(func() { stop(); remove() })
	}
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("confine with %s there already: got %v, want fs.ErrExist", taken, err)
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cpu", name)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s/cpu/%s after confine failed: got %v, want it gone", cgroupRoot, name, err)
	}
	if got, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid)); err != nil || strings.Contains(string(got), name) {
		t.Errorf("the process's cgroups after confine failed: got %q (%v), want none named %s", got, err, name)
	}
}

// startSpinner starts this test binary as a spinner (spinEnv) and returns
// its pid and how to stop it, which runs when the test ends too; a test
// that confines it stops it first, since a cgroup goes once its process
// has. It skips the test unless run as root, as cgroups are written.
func startSpinner(t *testing.T) (pid int, stop func()) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("cgroups are writable by root only; tools/test runs as root")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spin := exec.Command(self, "-test.run=^$")
	spin.Env = append(os.Environ(), spinEnv+"=1")
	if err := spin.Start(); err != nil {
		t.Fatal(err)
	}
	stop = sync.OnceFunc(func() { spin.Process.Kill(); spin.Wait() })
	t.Cleanup(stop)
	return spin.Process.Pid, stop
}
