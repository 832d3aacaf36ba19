package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onlinebooks/bookstore/go/tools/overlay"
)

// goldenDir holds the golden renders, under the workspace.
const goldenDir = "k8s/golden"

// goldenRender is the golden render of the overlay name.
func goldenRender(ctx context.Context, c config, name string) ([]byte, error) {
	d := c.Deployment
	d.Dir = c.overlayDir(name)
	rendered, err := d.Render(ctx)
	if err != nil {
		return nil, err
	}
	return overlay.Golden(rendered)
}

// updateGolden writes every overlay's golden file into the workspace.
func updateGolden(ctx context.Context, c config) error {
	workspace := os.Getenv("BUILD_WORKSPACE_DIRECTORY")
	if workspace == "" {
		return fmt.Errorf("no BUILD_WORKSPACE_DIRECTORY: run this through `bazel run //k8s:update_golden`")
	}
	for _, name := range c.Overlays {
		b, err := goldenRender(ctx, c, name)
		if err != nil {
			return fmt.Errorf("overlay %s: %w", name, err)
		}
		path := filepath.Join(workspace, goldenDir, name+".yaml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	return nil
}
