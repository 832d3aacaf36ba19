package integration

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bazelbuild/rules_go/go/runfiles"

	"github.com/onlinebooks/bookstore/go/lifecycle"
)

// process is one of the real binaries, started for a test.
type process struct {
	t     *testing.T
	cmd   *exec.Cmd
	addrs chan listener // from its "serving ..." log lines
	done  chan struct{}
	mu    sync.Mutex
	logs  bytes.Buffer
}

// start runs the binary named by the environment variable binEnv (a
// runfiles path set in BUILD.bazel) with args, and stops it when the test
// ends if the test has not.
func start(t *testing.T, binEnv string, args ...string) *process {
	t.Helper()
	bin, err := runfiles.Rlocation(os.Getenv(binEnv))
	if err != nil {
		t.Fatalf("%s: %v", binEnv, err)
	}
	p := &process{t: t, cmd: exec.Command(bin, args...), addrs: make(chan listener, 4), done: make(chan struct{})}
	p.cmd.Env = []string{} // only flags configure it, whatever the test's environment says
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.readLogs(stderr)
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("%s logs:\n%s", binEnv, p.logText())
		}
	})
	return p
}

func (p *process) readLogs(r io.Reader) {
	defer close(p.done)
	s := bufio.NewScanner(r)
	for s.Scan() {
		p.mu.Lock()
		p.logs.Write(s.Bytes())
		p.logs.WriteByte('\n')
		p.mu.Unlock()
		if name, addr, ok := lifecycle.ServingAddr(s.Bytes()); ok {
			p.addrs <- listener{name, addr}
		}
	}
}

func (p *process) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

type listener struct{ name, addr string }

// listenAddrs waits for the process to say where its listeners listen, and
// returns their addresses by name ("api", "page", "admin").
func (p *process) listenAddrs(names ...string) map[string]string {
	p.t.Helper()
	addrs := map[string]string{}
	timeout := time.After(10 * time.Second)
	for len(addrs) < len(names) {
		select {
		case l := <-p.addrs:
			addrs[l.name] = l.addr
		case <-p.done:
			p.t.Fatalf("process exited before serving:\n%s", p.logText())
		case <-timeout:
			p.t.Fatalf("process did not say where %v listen within 10s:\n%s", names, p.logText())
		}
	}
	return addrs
}

// terminate sends SIGTERM and returns the exit code, failing the test if the
// process is not gone within limit.
func (p *process) terminate(limit time.Duration) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { <-p.done; exited <- p.cmd.Wait() }()
	select {
	case <-exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		p.t.Fatalf("process still running %s after SIGTERM", limit)
	}
	return -1
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would,
// and waits for it.
func (p *process) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	<-p.done
	p.cmd.Wait()
}
