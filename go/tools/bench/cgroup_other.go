//go:build !linux

package bench

import "errors"

// confine needs Linux's cgroups; elsewhere the overload run goes
// unconfined, and says so.
func confine(int, string, int, int64) (func(), string, error) {
	return nil, "", errors.New("CPU and memory limits need Linux cgroups")
}
