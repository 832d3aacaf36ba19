package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bazelbuild/rules_go/go/runfiles"
)

// process is one of the real binaries, started for a test.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr chan string // the address from its "serving ..." log line
	done chan struct{}
	mu   sync.Mutex
	logs bytes.Buffer
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
	p := &process{t: t, cmd: exec.Command(bin, args...), addr: make(chan string, 1), done: make(chan struct{})}
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
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(s.Bytes(), &rec) == nil && rec.Addr != "" && (rec.Msg == "serving gRPC" || rec.Msg == "serving HTTP") {
			p.addr <- rec.Addr
		}
	}
}

func (p *process) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// listenAddr waits for the process to say where it listens.
func (p *process) listenAddr() string {
	p.t.Helper()
	select {
	case a := <-p.addr:
		return a
	case <-p.done:
		p.t.Fatalf("process exited before serving:\n%s", p.logText())
	case <-time.After(10 * time.Second):
		p.t.Fatalf("process did not say where it serves within 10s:\n%s", p.logText())
	}
	return ""
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
