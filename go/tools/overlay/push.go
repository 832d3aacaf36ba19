package overlay

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Push runs an image's oci_push target, the one pusher of the repository,
// as `bazel run` runs it: from the runfiles root (rules_oci's push script
// finds its files by paths relative to it), with --repository. It returns
// the digest the script reports pushing.
func Push(ctx context.Context, script, runfilesRoot, repository string) (string, error) {
	cmd := exec.CommandContext(ctx, script, "--repository", repository)
	cmd.Dir = runfilesRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pushing to %s: %v\n%s", repository, err, stderr.String())
	}
	return pushedDigest(stdout.String(), repository)
}

// pushedDigest reads the digest from the push script's last line of output,
// REPOSITORY@DIGEST.
func pushedDigest(out, repository string) (string, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	digest, ok := strings.CutPrefix(last, repository+"@")
	if !ok || !strings.HasPrefix(digest, "sha256:") {
		return "", fmt.Errorf("pushing to %s: the push target printed %q, want %s@sha256:...", repository, last, repository)
	}
	return digest, nil
}
