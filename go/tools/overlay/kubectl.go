package overlay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Kubectl runs a kubectl binary with Flags (--kubeconfig, --context) before
// every command's own arguments.
type Kubectl struct {
	Path   string
	Flags  []string
	Stdout io.Writer
	Stderr io.Writer
}

// Run runs kubectl with args, stdin as its standard input when not nil.
func (k Kubectl) Run(ctx context.Context, stdin []byte, args ...string) error {
	cmd := exec.CommandContext(ctx, k.Path, append(append([]string{}, k.Flags...), args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.Stdout, cmd.Stderr = k.Stdout, k.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// Output runs kubectl with args and returns its standard output, trimmed;
// what kubectl said on standard error comes with the error.
func (k Kubectl) Output(ctx context.Context, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	k.Stdout, k.Stderr = &out, &errOut
	if err := k.Run(ctx, nil, args...); err != nil {
		return "", fmt.Errorf("%w\n%s", err, errOut.String())
	}
	return strings.TrimSpace(out.String()), nil
}
