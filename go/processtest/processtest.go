// Package processtest runs a service's binary for a test, as a process of
// its own: it learns the listeners' addresses from the "serving" log lines
// (lifecycle.ServingAddr) and stops the process when the test ends.
package processtest

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onlinebooks/bookstore/go/lifecycle"
)

// Process is a binary started for a test.
type Process struct {
	t      *testing.T
	cmd    *exec.Cmd
	addrs  chan listener // from its "serving ..." log lines
	done   chan struct{} // closed when its standard error is closed
	exited chan struct{} // closed when it has exited; then cmd.ProcessState is set
	mu     sync.Mutex
	logs   bytes.Buffer
}

// Start runs the program at path with args, and stops it when the test
// ends if the test has not. On a failure the test log shows what it logged.
func Start(t *testing.T, path string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, cmd: exec.Command(path, args...), addrs: make(chan listener, 4), done: make(chan struct{}), exited: make(chan struct{})}
	p.cmd.Env = []string{} // only flags configure it, whatever the test's environment says
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.readLogs(stderr)
	// The one Wait, once its logs are read (Wait closes the pipe).
	go func() {
		<-p.done
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s logs:\n%s", path, p.Logs())
		}
	})
	return p
}

func (p *Process) readLogs(r io.Reader) {
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

// Logs is what the process has written to standard error so far.
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

type listener struct{ name, addr string }

// ListenAddrs waits for the process to say where its listeners listen, and
// returns their addresses by name ("api", "page", "admin"). It waits up to
// limit: a program under emulation starts slower.
func (p *Process) ListenAddrs(limit time.Duration, names ...string) map[string]string {
	p.t.Helper()
	addrs := map[string]string{}
	timeout := time.After(limit)
	for len(addrs) < len(names) {
		select {
		case l := <-p.addrs:
			addrs[l.name] = l.addr
		case <-p.done:
			p.t.Fatalf("process exited before serving:\n%s", p.Logs())
		case <-timeout:
			p.t.Fatalf("process did not say where %v listen within %s:\n%s", names, limit, p.Logs())
		}
	}
	return addrs
}

// Terminate sends SIGTERM and returns the exit code, failing the test if the
// process is not gone within limit.
func (p *Process) Terminate(limit time.Duration) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		p.t.Fatalf("process still running %s after SIGTERM", limit)
	}
	return -1
}

// Kill ends the process with SIGKILL, as a crash or the OOM killer would,
// and waits for it.
func (p *Process) Kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	<-p.exited
}
