package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/onlinebooks/bookstore/go/lifecycle"
)

// process is one service binary the benchmark started.
type process struct {
	name  string
	cmd   *exec.Cmd
	addrs map[string]string // listener name -> address, from its "serving" logs
}

// newProcess prepares bin with args and an empty environment: only flags
// configure it.
func newProcess(name, bin string, args ...string) *process {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{}
	return &process{name: name, cmd: cmd, addrs: map[string]string{}}
}

// startProcess runs bin with args and waits until it says where each of
// listeners listens.
func startProcess(name, bin string, listeners []string, args ...string) (*process, error) {
	p := newProcess(name, bin, args...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	found := make(chan [2]string)
	go func() {
		defer close(found)
		s := bufio.NewScanner(stderr)
		for n := 0; n < len(listeners) && s.Scan(); {
			if name, addr, ok := lifecycle.ServingAddr(s.Bytes()); ok {
				found <- [2]string{name, addr}
				n++
			}
		}
		// The rest (a record per call) is drained, not parsed: parsing it
		// would take CPU from the services being measured.
		io.Copy(io.Discard, stderr)
	}()
	timeout := time.After(30 * time.Second)
	for len(p.addrs) < len(listeners) {
		select {
		case l, ok := <-found:
			if !ok {
				p.stop()
				return nil, fmt.Errorf("%s exited before serving", name)
			}
			p.addrs[l[0]] = l[1]
		case <-timeout:
			p.stop()
			return nil, fmt.Errorf("%s did not serve %v within 30s", name, listeners)
		}
	}
	return p, nil
}

// memory returns the process's resident memory now and at its peak, in bytes.
func (p *process) memory() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		field, value, _ := strings.Cut(line, ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case field == "VmRSS" && err == nil:
			rss = kb << 10
		case field == "VmHWM" && err == nil:
			peak = kb << 10
		}
	}
	return rss, peak, nil
}

// stop ends the process with SIGTERM, as Kubernetes does, and waits for it.
func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}
