// Package ocipush runs an image's push target as `bazel run` runs it: the
// one way this repository pushes an image, used by the signed push
// (//go/cmd/publish, around rules_oci's oci_push) and by //k8s:apply
// (around the signed push).
package ocipush

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/bazelbuild/rules_go/go/runfiles"
	"github.com/google/go-containerregistry/pkg/name"
)

// Push runs script with args from the runfiles root (rules_oci's push
// script finds its files by paths relative to it) and returns the
// reference it reports pushing: its last line of output, REPOSITORY@DIGEST.
func Push(ctx context.Context, script, runfilesRoot string, args ...string) (name.Digest, error) {
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Dir = runfilesRoot
	// A push target of Go (the signed push) finds its runfiles by this,
	// inside another target's tree.
	cmd.Env = append(os.Environ(), "RUNFILES_DIR="+filepath.Dir(runfilesRoot))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return name.Digest{}, fmt.Errorf("pushing (%s %s): %v\n%s%s", script, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return pushed(stdout.String())
}

// pushed reads the reference from the push script's last line of output.
func pushed(out string) (name.Digest, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	ref, err := name.NewDigest(last)
	if err != nil || !strings.HasPrefix(ref.DigestStr(), "sha256:") {
		return name.Digest{}, fmt.Errorf("the push target printed %q last, want REPOSITORY@sha256:...", last)
	}
	return ref, nil
}

// RunfilesRoot is the main repository's folder of this binary's runfiles
// tree: where `bazel run` starts a target, and where push scripts find
// their files.
func RunfilesRoot() (string, error) {
	r, err := runfiles.New()
	if err != nil {
		return "", err
	}
	for _, kv := range r.Env() {
		if dir, ok := strings.CutPrefix(kv, "RUNFILES_DIR="); ok {
			// Under Bzlmod the main repository's folder is always _main.
			return filepath.Join(dir, "_main"), nil
		}
	}
	return "", errors.New("no runfiles directory: run this through `bazel run`")
}
