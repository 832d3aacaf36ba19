// Package compose_test runs Online Books For You end to end under Docker
// Compose, from the images Bazel built: load them into the engine, push them
// to a registry and pull them back, bring the system up, and read the page
// through the published port while Recommendations goes away and comes back.
package compose_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/moby/moby/client"

	"github.com/onlinebooks/bookstore/go/marketplace"
	"github.com/onlinebooks/bookstore/go/testkit"
	"github.com/onlinebooks/bookstore/go/testkit/e2e"
	"github.com/onlinebooks/bookstore/go/tools/ocipush"
)

// services are the images under test, by the prefix of their environment
// variables in BUILD.bazel and compose.yaml.
var services = []struct{ name, env string }{
	{"recommendations", "RECOMMENDATIONS"},
	{"marketplace", "MARKETPLACE"},
}

func TestCompose(t *testing.T) {
	ctx := t.Context()
	docker, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()

	// The registry lives as long as the test, on loopback, where the engine
	// pulls over plain HTTP (Docker trusts 127.0.0.0/8 registries).
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")

	// Each service: :load into the engine, :push to the registry; Compose
	// then runs the pushed digests, so what runs is what was pushed.
	root, err := ocipush.RunfilesRoot()
	if err != nil {
		t.Fatal(err)
	}
	env := os.Environ()
	for _, svc := range services {
		tag := "bookstore/" + svc.name + ":dev"
		if !hasImage(t, docker, tag) {
			// The tag is new: the test's, so the test removes it. One that
			// was there before belongs to whoever loaded it.
			t.Cleanup(func() { removeImage(t, docker, tag) })
		}
		// As `bazel run` runs them: :load through the docker CLI, :push
		// from the runfiles root (ocipush), where it finds its files.
		if out := run(t, nil, "", testkit.Runfile(t, svc.env+"_LOAD")); !strings.Contains(out, "Loaded image: "+tag) {
			t.Errorf("load: want %q in:\n%s", "Loaded image: "+tag, out)
		}
		if !hasImage(t, docker, tag) {
			t.Fatalf("after load: the engine has no %s", tag)
		}

		repository := host + "/bookstore/" + svc.name
		ref, err := ocipush.Push(ctx, testkit.Runfile(t, svc.env+"_PUSH"), root, "--repository", repository)
		if err != nil {
			t.Fatal(err)
		}
		want := repository + "@" + strings.TrimSpace(testkit.ReadRunfile(t, svc.env+"_DIGEST"))
		if got := ref.String(); got != want {
			t.Fatalf("push: reported %q, want %q (image.digest)", got, want)
		}
		env = append(env, svc.env+"_IMAGE="+want)
	}

	project := fmt.Sprintf("bookstore-e2e-%d", os.Getpid())
	port := testkit.FreePort(t)
	// The launcher stages the certificates here, readable by the services.
	// Not t.TempDir: /tmp may be Bazel's chroot's own, which the engine,
	// outside it, does not see; TEST_TMPDIR is in the output base, at the
	// same path inside and out.
	certs, err := os.MkdirTemp(os.Getenv("TEST_TMPDIR"), "certs")
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, fmt.Sprintf("MARKETPLACE_PORT=%d", port), "BOOKSTORE_CERTS="+certs)
	compose := func(args ...string) string {
		return run(t, env, "", testkit.Runfile(t, "COMPOSE"), append([]string{"--project-name", project}, args...)...)
	}
	defer func() {
		compose("down", "--rmi", "all", "--volumes", "--remove-orphans", "--timeout", "20")
		assertNothingLeft(t, ctx, docker, project)
	}()
	compose("pull")
	compose("up", "--detach")

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ready := testkit.Eventually(60*time.Second, func() bool {
		code, _ := testkit.Get(base + "/readyz")
		return code == http.StatusOK
	})
	if !ready {
		t.Fatalf("marketplace not ready within 60s; the services said:\n%s", compose("logs"))
	}
	e2e.CheckBooks(t, base)
	if logs := compose("logs", "marketplace"); !strings.Contains(logs, `"tls":"mtls"`) {
		t.Errorf("marketplace does not call recommendations over mTLS:\n%s", logs)
	}

	compose("stop", "recommendations")
	code, body := testkit.Get(base + "/?category=mystery")
	if code != http.StatusOK || !strings.Contains(body, marketplace.UnavailableNotice) {
		t.Errorf("recommendations stopped: got %d, want 200 with %q:\n%s", code, marketplace.UnavailableNotice, body)
	}
	if code, _ := testkit.Get(base + "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with recommendations stopped: got %d, want 503", code)
	}

	started := time.Now()
	compose("start", "recommendations")
	recovered := testkit.Eventually(60*time.Second, func() bool {
		_, body := testkit.Get(base + "/?category=mystery")
		return strings.Count(body, "<li>") == 3
	})
	if !recovered {
		t.Fatalf("the page did not recover within 60s; the services said:\n%s", compose("logs"))
	}
	t.Logf("recovered %.1fs after `compose start recommendations`", time.Since(started).Seconds())
	e2e.CheckBooks(t, base)
}

// assertNothingLeft fails the test if the project left a container or a
// network behind.
func assertNothingLeft(t *testing.T, ctx context.Context, docker *client.Client, project string) {
	t.Helper()
	filters := make(client.Filters).Add("label", "com.docker.compose.project="+project)
	containers, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filters})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range containers.Items {
		t.Errorf("container left behind: %s %v (%s)", c.ID[:12], c.Names, c.State)
	}
	networks, err := docker.NetworkList(ctx, client.NetworkListOptions{Filters: filters})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range networks.Items {
		t.Errorf("network left behind: %s", n.Name)
	}
}

func hasImage(t *testing.T, docker *client.Client, ref string) bool {
	t.Helper()
	images, err := docker.ImageList(t.Context(), client.ImageListOptions{Filters: make(client.Filters).Add("reference", ref)})
	if err != nil {
		t.Fatal(err)
	}
	return len(images.Items) > 0
}

func removeImage(t *testing.T, docker *client.Client, ref string) {
	t.Helper()
	if _, err := docker.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{}); err != nil {
		t.Errorf("removing %s: %v", ref, err)
	}
}

// run runs a command with env (nil: the test's) in dir ("": the test's),
// and returns its standard output; it fails the test, with everything the
// command said, if the command fails.
func run(t *testing.T, env []string, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
