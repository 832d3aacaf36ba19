package testkit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onlinebooks/bookstore/go/platform/lifecycle"
)

// maxLogs bounds what a Process keeps of its standard error; the rest is
// read and dropped, so a chatty process (a benchmark's, a record per call)
// neither blocks on a full pipe nor fills memory.
const maxLogs = 4 << 20

// Process is a service's binary running as a process of its own. It learns
// its listeners' addresses from the "serving" records they log
// (lifecycle.ServingGRPC, lifecycle.ServingHTTP).
type Process struct {
	t      testing.TB // nil unless started by Start
	cmd    *exec.Cmd
	done   chan struct{} // closed when its standard error is closed
	exited chan struct{} // closed when it has exited; then cmd.ProcessState is set

	mu      sync.Mutex
	logs    bytes.Buffer
	seen    map[string]string // listener name -> address, from its "serving" records
	changed chan struct{}     // closed, and replaced, when seen changes
}

// StartProcess runs the program at path with args and an empty
// environment: only flags configure it.
func StartProcess(path string, args ...string) (*Process, error) {
	return StartProcessEnv(nil, path, args...)
}

// StartProcessEnv is StartProcess with env ("KEY=value") as the whole
// environment: what a container's runtime settings (GOMAXPROCS) would be.
func StartProcessEnv(env []string, path string, args ...string) (*Process, error) {
	p := &Process{cmd: exec.Command(path, args...), done: make(chan struct{}), exited: make(chan struct{}), seen: map[string]string{}, changed: make(chan struct{})}
	p.cmd.Env = append([]string{}, env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go p.readLogs(stderr)
	// The one Wait, once its logs are read (Wait closes the pipe).
	go func() {
		<-p.done
		p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Start is StartProcess for a test: it fails the test if the program does
// not start, stops it when the test ends if the test has not, and on a
// failure shows what it logged.
func Start(t testing.TB, path string, args ...string) *Process {
	t.Helper()
	p, err := StartProcess(path, args...)
	if err != nil {
		t.Fatal(err)
	}
	p.t = t
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
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		line := s.Bytes()
		name, addr, serving := servingAddr(line)
		p.mu.Lock()
		p.logs.Write(line)
		p.logs.WriteByte('\n')
		if serving {
			p.seen[name] = addr
			close(p.changed)
			p.changed = make(chan struct{})
		}
		full := p.logs.Len() >= maxLogs
		p.mu.Unlock()
		if full {
			break
		}
	}
	// Past maxLogs, or past a line longer than the scanner takes, the rest
	// is drained unread.
	io.Copy(io.Discard, r)
}

// servingAddr reads one line of a service's JSON log. When it is the record
// of a listener that started serving, it returns the listener's name (the
// logger's "listener" attribute, such as "api" or "admin") and address.
func servingAddr(line []byte) (listener, addr string, ok bool) {
	if !bytes.Contains(line, []byte(`"serving `)) {
		return "", "", false // most lines: not parsed at all
	}
	var rec struct{ Msg, Addr, Listener string }
	if json.Unmarshal(line, &rec) != nil || rec.Addr == "" || (rec.Msg != lifecycle.ServingGRPC && rec.Msg != lifecycle.ServingHTTP) {
		return "", "", false
	}
	return rec.Listener, rec.Addr, true
}

// Logs is what the process has written to standard error so far (about
// its first 4 MiB).
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// Pid is the process's ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Running reports whether the process has not exited (nor been killed).
func (p *Process) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Addrs waits for the process to say where its listeners listen, and
// returns their addresses by name ("api", "page", "admin"). It waits up to
// limit: a program under emulation starts slower.
func (p *Process) Addrs(limit time.Duration, names ...string) (map[string]string, error) {
	timeout := time.After(limit)
	for {
		p.mu.Lock()
		addrs, ok := pick(p.seen, names)
		changed := p.changed
		p.mu.Unlock()
		if ok {
			return addrs, nil
		}
		select {
		case <-changed:
		case <-p.done:
			p.mu.Lock()
			addrs, ok := pick(p.seen, names)
			p.mu.Unlock()
			if ok {
				return addrs, nil
			}
			return nil, fmt.Errorf("%s exited before serving %v:\n%s", p.cmd.Path, names, p.Logs())
		case <-timeout:
			return nil, fmt.Errorf("%s did not say where %v listen within %s:\n%s", p.cmd.Path, names, limit, p.Logs())
		}
	}
}

// pick returns the addresses of names in seen, and whether it has them all.
func pick(seen map[string]string, names []string) (map[string]string, bool) {
	addrs := make(map[string]string, len(names))
	for _, n := range names {
		a, ok := seen[n]
		if !ok {
			return nil, false
		}
		addrs[n] = a
	}
	return addrs, true
}

// ListenAddrs is Addrs for a test started with Start: it fails the test
// instead of returning an error.
func (p *Process) ListenAddrs(limit time.Duration, names ...string) map[string]string {
	p.t.Helper()
	addrs, err := p.Addrs(limit, names...)
	if err != nil {
		p.t.Fatal(err)
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
	p.cmd.Process.Kill()
	<-p.exited
}

// Stop ends the process with SIGTERM, as Kubernetes does, and SIGKILL when
// it is still running 15 s later; it waits for it either way.
func (p *Process) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.Kill()
	}
}
