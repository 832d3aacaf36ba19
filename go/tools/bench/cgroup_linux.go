package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// confine moves process pid into a cgroup of its own, named name, with a
// Kubernetes container's limits: milliCPU thousandths of a CPU (a CFS
// quota over a 100 ms period, as the kubelet sets it) and memBytes of
// memory. It returns how to remove the cgroup once the process has ended,
// and the path of its cpu.stat (see cfsStats).
//
// Written here rather than taken from a library: the one well-kept one
// (github.com/containerd/cgroups) brings eBPF device filtering and D-Bus
// with it, for four file writes. Both cgroup versions are handled.
func confine(pid int, name string, milliCPU int, memBytes int64) (remove func(), cpuStat string, err error) {
	procs := []byte(strconv.Itoa(pid))
	var dirs, joined []string
	remove = func() {
		for _, d := range dirs {
			os.Remove(d)
		}
	}
	write := func(dir string, files ...[2]string) error {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		dirs = append(dirs, dir)
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f[0]), []byte(f[1]), 0o644); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), procs, 0o644); err != nil {
			return err
		}
		joined = append(joined, dir)
		return nil
	}
	quota := strconv.Itoa(milliCPU * 100) // µs per 100,000 µs
	mem := strconv.FormatInt(memBytes, 10)
	if cgroupV2() {
		// Version 2: one hierarchy.
		cpuStat = filepath.Join(cgroupRoot, name, "cpu.stat")
		err = write(filepath.Join(cgroupRoot, name), [2]string{"cpu.max", quota + " 100000"}, [2]string{"memory.max", mem})
	} else {
		// Version 1: a hierarchy per controller.
		cpuStat = filepath.Join(cgroupRoot, "cpu", name, "cpu.stat")
		err = write(filepath.Join(cgroupRoot, "cpu", name), [2]string{"cpu.cfs_period_us", "100000"}, [2]string{"cpu.cfs_quota_us", quota})
		if err == nil {
			err = write(filepath.Join(cgroupRoot, "memory", name), [2]string{"memory.limit_in_bytes", mem})
		}
	}
	if err != nil {
		// A cgroup that holds a process cannot be removed, and on version 1
		// the process may already be in the cpu one when the memory one
		// fails: it moves first to the root of that hierarchy, unconfined,
		// as the caller then reports it.
		for _, d := range joined {
			if e := os.WriteFile(filepath.Join(filepath.Dir(d), "cgroup.procs"), procs, 0o644); e != nil {
				err = errors.Join(err, fmt.Errorf("%s left behind: %w", d, e))
			}
		}
		remove()
		return nil, "", fmt.Errorf("cgroup %s (needs Linux cgroups writable, as root): %w", name, err)
	}
	return remove, cpuStat, nil
}

// cgroupRoot is where Linux mounts cgroups.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupV2 says whether cgroups are version 2's, one hierarchy for all
// controllers, rather than version 1's, one per controller.
func cgroupV2() bool {
	_, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	return err == nil
}
