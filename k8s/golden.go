package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/onlinebooks/bookstore/go/tools/overlay"
)

// goldenHeader opens every golden file.
const goldenHeader = "# Written by `bazel run //k8s:update_golden`; //k8s:render_test holds the overlay to it.\n"

var digest = regexp.MustCompile(`@sha256:[0-9a-f]{64}`)

// goldenRender is what the golden file of an overlay holds: its rendered
// manifests, the Secrets' values redacted and every digest a placeholder,
// so that a rebuilt image changes no golden file and a changed manifest
// does.
func goldenRender(ctx context.Context, d overlay.Deployment) ([]byte, error) {
	rendered, err := d.Render(ctx)
	if err != nil {
		return nil, err
	}
	redacted, err := overlay.Redact(rendered)
	if err != nil {
		return nil, err
	}
	return append([]byte(goldenHeader), digest.ReplaceAll(redacted, []byte("@sha256:DIGEST"))...), nil
}

// goldenFile is an overlay's golden file, under root.
func goldenFile(root string, c config, name string) string {
	return filepath.Join(root, c.Golden, name+".yaml")
}

// updateGolden writes every overlay's golden file into the workspace.
func updateGolden(ctx context.Context, c config) error {
	workspace := os.Getenv("BUILD_WORKSPACE_DIRECTORY")
	if workspace == "" {
		return fmt.Errorf("no BUILD_WORKSPACE_DIRECTORY: run this through `bazel run //k8s:update_golden`")
	}
	for _, name := range c.Overlays {
		d := c.Deployment
		d.Dir = c.overlayDir(name)
		b, err := goldenRender(ctx, d)
		if err != nil {
			return fmt.Errorf("overlay %s: %w", name, err)
		}
		path := goldenFile(workspace, c, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	return nil
}
