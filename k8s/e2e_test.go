package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/onlinebooks/bookstore/go/testkit"
	"github.com/onlinebooks/bookstore/go/testkit/e2e"
	"github.com/onlinebooks/bookstore/go/tools/kubedeploy"
)

// TestCluster deploys the system to the cluster of KUBECONFIG as `bazel run
// //k8s:apply` does (the same arguments, K8S_ARGS), then checks it from
// outside: the page through Marketplace's Service, calls spread over the
// Recommendations pods, a rolling update of Recommendations to a new image
// and the loss of a pod of each service under steady page load. It removes
// the deployment again. tools/test runs it between `tools/cluster start`
// and `tools/cluster stop`, with tools/registry serving the images.
func TestCluster(t *testing.T) {
	ctx := t.Context()
	_, d, err := parse(append([]string{"apply"}, strings.Fields(os.Getenv("K8S_ARGS"))...))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	d.Kubectl.Stdout, d.Kubectl.Stderr = &log, &log
	kubectl := func(args ...string) string {
		t.Helper()
		out, err := d.Kubectl.Output(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if err := d.Kubectl.Run(ctx, nil, "get", "--raw", "/readyz"); err != nil {
		t.Fatalf("no cluster answers (KUBECONFIG=%q; tools/cluster start makes one): %v\n%s", os.Getenv("KUBECONFIG"), err, log.String())
	}

	started := time.Now()
	t.Cleanup(func() {
		if err := d.Delete(context.Background()); err != nil {
			t.Errorf("delete: %v\n%s", err, log.String())
		}
	})
	if err := d.Apply(ctx, &log); err != nil {
		t.Fatalf("apply: %v\n%s", err, log.String())
	}
	t.Logf("applied and rolled out in %.1fs", time.Since(started).Seconds())

	ns := kubedeploy.Namespace
	node := kubectl("get", "nodes", "-o", `jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}`)
	port := kubectl("get", "service", "marketplace", "-n", ns, "-o", "jsonpath={.spec.ports[0].nodePort}")
	base := "http://" + node + ":" + port
	if !testkit.Eventually(60*time.Second, func() bool { code, _ := testkit.Get(base + "/healthz"); return code == http.StatusOK }) {
		t.Fatalf("the Marketplace Service %s does not answer", base)
	}
	e2e.CheckBooks(t, base)
	if logs := kubectl("logs", "-n", ns, "deployment/marketplace"); !strings.Contains(logs, `"tls":"mtls"`) {
		t.Errorf("marketplace does not call recommendations over mTLS:\n%s", logs)
	}

	// metric sums a counter over every pod of a Deployment, through the API
	// server's proxy to each pod's admin port.
	// pods are the running pods of a Deployment, not those terminating.
	pods := func(app string) []string {
		var list struct {
			Items []struct {
				Metadata struct {
					Name              string
					DeletionTimestamp *string
				}
			}
		}
		out := kubectl("get", "pods", "-n", ns, "-l", "app.kubernetes.io/name="+app, "--field-selector=status.phase=Running", "-o", "json")
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range list.Items {
			if p.Metadata.DeletionTimestamp == nil {
				names = append(names, p.Metadata.Name)
			}
		}
		return names
	}
	metric := func(pod, adminPort, name string, keep func(labels map[string]string) bool) float64 {
		t.Helper()
		text := kubectl("get", "--raw", fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:%s/proxy/metrics", ns, pod, adminPort))
		n, err := testkit.Sum(text, name, keep)
		if err != nil {
			t.Fatalf("metrics of %s: %v", pod, err)
		}
		return n
	}
	recommendCalls := func(pod string) float64 {
		return metric(pod, "50052", "grpc_server_handled_total", func(l map[string]string) bool { return l["grpc_method"] == "Recommend" })
	}
	failedRPCs := func() (n float64) {
		for _, pod := range pods("marketplace") {
			n += metric(pod, "5001", "grpc_client_handled_total", func(l map[string]string) bool { return l["grpc_code"] != "OK" })
		}
		return n
	}

	// Calls spread over the Recommendations pods.
	before := make(map[string]float64)
	for _, pod := range pods("recommendations") {
		before[pod] = recommendCalls(pod)
	}
	for range 60 {
		testkit.Get(base + "/?category=mystery")
	}
	reached := 0
	var perPod []string
	for pod, n0 := range before {
		n := recommendCalls(pod) - n0
		perPod = append(perPod, fmt.Sprintf("%s=%.0f", pod, n))
		if n > 0 {
			reached++
		}
	}
	t.Logf("Recommend calls per pod after 60 pages: %s", strings.Join(perPod, " "))
	if reached < 2 {
		t.Errorf("calls reached %d of the Recommendations pods, want at least 2", reached)
	}

	// A rolling update to a new image (the same binary under a new label,
	// hence a new digest) under steady load.
	ref := kubectl("get", "deployment", "recommendations", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
	updated := relabel(t, ref, "org.onlinebooks.e2e.rollout", started.Format(time.RFC3339Nano))
	rpcsBefore := failedRPCs()
	l := startLoad(base+"/?category=mystery", 4)
	time.Sleep(2 * time.Second)
	rolloutStart := time.Now()
	kubectl("set", "image", "-n", ns, "deployment/recommendations", "recommendations="+updated)
	kubectl("rollout", "status", "-n", ns, "deployment/recommendations", "--timeout=5m")
	rollout := time.Since(rolloutStart)
	time.Sleep(5 * time.Second)
	total, failed, firstFailure := l.stop()
	rpcsFailed := failedRPCs() - rpcsBefore
	t.Logf("rolling update of recommendations: %.1fs; %d page requests, %d failed; %.0f failed RPCs", rollout.Seconds(), total, failed, rpcsFailed)
	if failed > 0 || rpcsFailed > 0 {
		t.Errorf("rolling update: %d failed page requests and %.0f failed RPCs, want 0 (first failure: %s)", failed, rpcsFailed, firstFailure)
	}
	if got := kubectl("get", "pods", "-n", ns, "-l", "app.kubernetes.io/name=recommendations", "-o", "jsonpath={.items[*].spec.containers[0].image}"); strings.Count(got, updated) != 3 {
		t.Errorf("after the update, recommendations pods run %s, want 3 × %s", got, updated)
	}

	// One pod of each service deleted under load.
	for _, app := range []string{"recommendations", "marketplace"} {
		victim := pods(app)[0]
		l := startLoad(base+"/?category=mystery", 4)
		time.Sleep(2 * time.Second)
		kubectl("delete", "pod", "-n", ns, victim, "--wait=false")
		kubectl("wait", "-n", ns, "--for=delete", "pod/"+victim, "--timeout=2m")
		kubectl("rollout", "status", "-n", ns, "deployment/"+app, "--timeout=2m")
		time.Sleep(3 * time.Second)
		total, failed, firstFailure := l.stop()
		t.Logf("deleting %s pod %s: %d page requests, %d failed", app, victim, total, failed)
		if failed > 0 {
			t.Errorf("deleting a %s pod: %d of %d page requests failed, want 0 (first failure: %s)", app, failed, total, firstFailure)
		}
		e2e.CheckBooks(t, base)
	}

	// What the pods use, for sizing their requests and limits.
	for _, app := range []struct{ name, port string }{{"recommendations", "50052"}, {"marketplace", "5001"}} {
		for _, pod := range pods(app.name) {
			rss := metric(pod, app.port, "process_resident_memory_bytes", nil)
			cpu := metric(pod, app.port, "process_cpu_seconds_total", nil)
			t.Logf("%s: %.1f MiB resident, %.2f s CPU so far", pod, rss/(1<<20), cpu)
		}
	}
}

// relabel pushes the image index at ref again with one more label on each
// of its images, which makes new images of the same binaries and a new
// index (new digests) for the same platforms, and returns its reference.
func relabel(t *testing.T, ref, key, value string) string {
	t.Helper()
	digest, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(digest, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var images []mutate.IndexAddendum
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cfg.Config.DeepCopy()
		c.Labels[key] = value
		if img, err = mutate.Config(img, *c); err != nil {
			t.Fatal(err)
		}
		images = append(images, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: d.Platform}})
	}
	relabelled := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), images...)
	d, err := relabelled.Digest()
	if err != nil {
		t.Fatal(err)
	}
	updated := digest.Context().Digest(d.String())
	if err := remote.WriteIndex(updated, relabelled, remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	return updated.String()
}

// load requests a page from several workers until stopped, counting the
// requests and those that did not get a full page. It stops by itself after
// five minutes, so a test that fails before stop leaves nothing running.
type load struct {
	total, failed atomic.Int64
	first         sync.Once
	firstFailure  string
	cancel        context.CancelFunc
	wg            sync.WaitGroup
}

func startLoad(url string, workers int) *load {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	l := &load{cancel: cancel}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				code, body := testkit.Get(url)
				l.total.Add(1)
				why := e2e.MysteryBooks(body)
				if code != http.StatusOK {
					why = fmt.Sprintf("status %d: %.200s", code, body)
				}
				if why != "" {
					l.failed.Add(1)
					l.first.Do(func() { l.firstFailure = time.Now().Format(time.TimeOnly) + " " + why })
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *load) stop() (total, failed int64, firstFailure string) {
	l.cancel()
	l.wg.Wait()
	return l.total.Load(), l.failed.Load(), l.firstFailure
}
