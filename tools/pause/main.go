// Command pause is the sandbox ("pause") container of every pod of the local
// cluster (tools/cluster): it holds the pod's namespaces open and does
// nothing else. Upstream's is a few lines of C in an image that cannot be
// pulled here; this is the same in Go. As PID 1 of a pod that shares its PID
// namespace it also reaps orphaned children, as upstream's does.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			return
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
