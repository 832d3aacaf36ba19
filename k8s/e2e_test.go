package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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
	"github.com/onlinebooks/bookstore/go/testkit/promserver"
	"github.com/onlinebooks/bookstore/go/tools/overlay"
	"sigs.k8s.io/yaml"
)

// TestCluster deploys the system to the cluster of KUBECONFIG as `bazel run
// //k8s:apply` does (the same arguments, K8S_ARGS), into a namespace of its
// own, then checks it from outside: the page through Marketplace's Service,
// calls spread over the Recommendations pods, the admission policy's
// refusals, both overlays through the API server's dry run, a rolling
// update of Recommendations to a new image, the loss of a pod of each
// service and a scale-up of Recommendations, all under steady page load,
// and last Recommendations scaled to 0. A Prometheus of its own watches
// throughout, with k8s/monitoring's configuration and rules: no alert of
// the page SLO may fire during the rolling update, and its page alert must
// fire once Recommendations is gone.
// It deletes the namespace again, whatever failed. tools/test runs it
// between `tools/cluster start` and `tools/cluster stop`, with
// tools/registry serving the images.
func TestCluster(t *testing.T) {
	ctx := t.Context()
	// As `bazel run //k8s:apply` (K8S_ARGS), on the local overlay.
	_, c, err := parse(append([]string{"apply"}, strings.Fields(os.Getenv("K8S_ARGS"))...))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	d := c.Deployment
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

	// The local overlay, in a namespace of its own: its deletion at the end
	// takes everything the run made, even after a failed step.
	ns := fmt.Sprintf("bookstore-e2e-%d", time.Now().UnixNano()%1e6)
	d.Dir = throwaway(t, d.Dir, ns)
	started := time.Now()
	t.Cleanup(func() {
		if err := d.Delete(context.Background()); err != nil {
			t.Errorf("delete: %v\n%s", err, log.String())
		}
		switch out, err := d.Kubectl.Output(context.Background(), "get", "namespace", ns, "--ignore-not-found", "-o", "name"); {
		case err != nil:
			t.Errorf("is namespace %s gone? %v", ns, err)
		case out != "":
			t.Errorf("namespace %s is still there after the delete", ns)
		}
	})
	if err := d.Apply(ctx, &log); err != nil {
		t.Fatalf("apply: %v\n%s", err, log.String())
	}
	t.Logf("applied to namespace %s and rolled out in %.1fs", ns, time.Since(started).Seconds())

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

	prom := watch(t, d.Kubectl, ns)

	admission(t, d.Kubectl, ns)
	refuseUnsigned(t, c, d, ns)
	// Both overlays as the API server would take them (defaults, schemas,
	// admission), into this namespace, which exists.
	for _, name := range c.Overlays {
		dir := throwaway(t, c.overlayDir(name), ns)
		if _, err := d.Kubectl.Output(ctx, "apply", "-k", dir, "--dry-run=server"); err != nil {
			t.Errorf("overlay %s, server-side dry run: %v", name, err)
		}
	}

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
	// metric sums a counter over a pod, through the API server's proxy to
	// its admin port.
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

	// Each process runs as many Go threads as its CPU limit has whole CPUs
	// (500m: 1), which the kubelet passes in GOMAXPROCS (the manifests'
	// resourceFieldRef), not Go's own floor of 2.
	for app, adminPort := range map[string]string{"recommendations": "50052", "marketplace": "5001"} {
		running := pods(app)
		if len(running) == 0 {
			t.Errorf("no %s pod running to read GOMAXPROCS from", app)
		}
		for _, pod := range running {
			if got := metric(pod, adminPort, "go_sched_gomaxprocs_threads", nil); got != 1 {
				t.Errorf("%s: GOMAXPROCS %v, want 1, from its 500m CPU limit", pod, got)
			}
		}
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
	// Prometheus saw the rollout's pages, and no alert of the page SLO
	// fired (neither the page nor the ticket).
	window := fmt.Sprintf("[%ds]", int(time.Since(rolloutStart).Seconds())+1)
	seen := prom.Query(t, `sum(increase(http_requests_total{job="marketplace",route="GET /{$}"}`+window+`))`)
	firing := prom.Query(t, `max_over_time(ALERTS{slo="page",alertstate="firing"}`+window+`)`)
	if len(seen) == 0 || seen[0].Value == 0 {
		t.Errorf("Prometheus saw no page during the rolling update")
	} else {
		t.Logf("Prometheus during the rolling update: %.0f pages seen, page alerts firing: %v", seen[0].Value, firing)
	}
	if len(firing) > 0 {
		t.Errorf("page alerts fired during the rolling update: %v", firing)
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

	// A scale-up under load, 3 to 5: gRPC keeps its connections, so new
	// pods get calls only once clients resolve the headless Service again,
	// which MAX_CONNECTION_AGE (30 s) forces. Each new pod must serve within
	// that and 15 s more of being ready, and no page may fail meanwhile.
	const scaleUpBound = 45 * time.Second
	before = make(map[string]float64)
	for _, pod := range pods("recommendations") {
		before[pod] = 0
	}
	l = startLoad(base+"/?category=mystery", 4)
	kubectl("scale", "-n", ns, "deployment/recommendations", "--replicas=5")
	ready := make(map[string]time.Time)  // when each new pod was first seen ready
	served := make(map[string]time.Time) // when it was first seen serving
	scaled := time.Now()
	for time.Since(scaled) < 2*time.Minute && (len(ready) < 2 || len(served) < len(ready)) {
		for _, pod := range pods("recommendations") {
			if _, old := before[pod]; old {
				continue
			}
			if _, ok := ready[pod]; !ok {
				if kubectl("get", "pod", "-n", ns, pod, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`) != "True" {
					continue
				}
				ready[pod] = time.Now()
			}
			if _, ok := served[pod]; !ok && recommendCalls(pod) > 0 {
				served[pod] = time.Now()
			}
		}
		time.Sleep(time.Second)
	}
	total, failed, firstFailure = l.stop()
	if len(ready) != 2 {
		t.Errorf("scale-up: %d new pods ready within 2 minutes, want 2", len(ready))
	}
	for pod, r := range ready {
		s, ok := served[pod]
		switch {
		case !ok:
			t.Errorf("scale-up: new pod %s, ready at %.0fs, served no call by %.0fs", pod, r.Sub(scaled).Seconds(), time.Since(scaled).Seconds())
		case s.Sub(r) > scaleUpBound:
			t.Errorf("scale-up: new pod %s served its first call %.0fs after it was ready, want at most %s", pod, s.Sub(r).Seconds(), scaleUpBound)
		default:
			t.Logf("scale-up: new pod %s ready %.0fs after the scale, serving %.0fs after that", pod, r.Sub(scaled).Seconds(), s.Sub(r).Seconds())
		}
	}
	t.Logf("scale-up of recommendations 3 to 5: %d page requests, %d failed", total, failed)
	if failed > 0 {
		t.Errorf("scale-up: %d of %d page requests failed, want 0 (first failure: %s)", failed, total, firstFailure)
	}

	// What the pods use, for sizing their requests and limits.
	for _, app := range []struct{ name, port string }{{"recommendations", "50052"}, {"marketplace", "5001"}} {
		for _, pod := range pods(app.name) {
			rss := metric(pod, app.port, "process_resident_memory_bytes", nil)
			cpu := metric(pod, app.port, "process_cpu_seconds_total", nil)
			t.Logf("%s: %.1f MiB resident, %.2f s CPU so far", pod, rss/(1<<20), cpu)
		}
	}

	// Recommendations gone under load: every page degrades, and the page
	// SLO's fast alert fires within its 1 h window (shortened), `for` and
	// a few scrapes.
	l = startLoad(base+"/?category=mystery", 4)
	kubectl("scale", "-n", ns, "deployment/recommendations", "--replicas=0")
	scaledDown := time.Now()
	deadline := time.Hour/windowScale + 30*time.Second
	var alert *promserver.Alert
	for alert == nil && time.Since(scaledDown) < deadline {
		time.Sleep(time.Second)
		for _, a := range prom.Alerts(t) {
			if a.Labels["alertname"] == "PageBudgetBurn" && a.State == "firing" {
				alert = &a
			}
		}
	}
	total, failed, _ = l.stop()
	t.Logf("recommendations scaled to 0: %d page requests, %d without books", total, failed)
	if alert == nil {
		t.Errorf("recommendations scaled to 0: PageBudgetBurn not firing within %s", deadline)
	} else {
		t.Logf("recommendations scaled to 0: PageBudgetBurn firing after %.0fs: %s", time.Since(scaledDown).Seconds(), alert.Annotations["description"])
	}
}

// windowScale is how much shorter than in k8s/monitoring/rules.yaml the
// windows and `for`s of the e2e's Prometheus are: an hour is a minute.
const windowScale = 60

// watch starts Prometheus (PROMETHEUS) with k8s/monitoring's prometheus.yaml
// and rules.yaml (PROMETHEUS_CONFIG, PROMETHEUS_RULES), adapted to the
// test: the pods of namespace ns, found with the cluster and credentials
// kubectl uses, scraped every second through the API server's proxy to
// their admin ports, so that the test needs no route into the pods'
// network, and the rules' durations shortened by windowScale.
func watch(t *testing.T, k overlay.Kubectl, ns string) *promserver.Server {
	t.Helper()
	rules, err := promserver.Shorten([]byte(testkit.ReadRunfile(t, "PROMETHEUS_RULES")), windowScale)
	if err != nil {
		t.Fatal(err)
	}

	// The cluster and the user of kubectl's context, as files.
	raw, err := k.Output(t.Context(), "config", "view", "--raw", "--minify", "--flatten", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var kc struct {
		Clusters []struct {
			Cluster struct {
				Server string
				CA     string `json:"certificate-authority-data"`
			}
		}
		Users []struct {
			User struct {
				Cert  string `json:"client-certificate-data"`
				Key   string `json:"client-key-data"`
				Token string
			}
		}
	}
	if err := json.Unmarshal([]byte(raw), &kc); err != nil || len(kc.Clusters) != 1 || len(kc.Users) != 1 {
		t.Fatalf("kubectl config view: one cluster and one user wanted (%v)", err)
	}
	cluster, user := kc.Clusters[0].Cluster, kc.Users[0].User
	server, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := func(name, text string, decode bool) string {
		b := []byte(text)
		if decode {
			if b, err = base64.StdEncoding.DecodeString(text); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tls := map[string]any{}
	if cluster.CA != "" { // else the system's roots, as for kubectl
		tls["ca_file"] = file("ca.pem", cluster.CA, true)
	}
	job := map[string]any{"scheme": "https", "tls_config": tls}
	switch {
	case user.Cert != "" && user.Key != "":
		tls["cert_file"] = file("cert.pem", user.Cert, true)
		tls["key_file"] = file("key.pem", user.Key, true)
	case user.Token != "":
		job["authorization"] = map[string]any{"credentials_file": file("token", user.Token, false)}
	default:
		t.Fatal("Prometheus needs the kubeconfig's client certificate or token; this user has neither")
	}

	var config struct {
		Global        map[string]any   `json:"global"`
		RuleFiles     []string         `json:"rule_files"`
		ScrapeConfigs []map[string]any `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(testkit.ReadRunfile(t, "PROMETHEUS_CONFIG")), &config); err != nil || len(config.ScrapeConfigs) != 1 {
		t.Fatalf("prometheus.yaml: one scrape configuration wanted: %v", err)
	}
	config.Global = map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
	sc := config.ScrapeConfigs[0]
	for key, v := range job {
		sc[key] = v
	}
	sc["kubernetes_sd_configs"] = []any{map[string]any{
		"role":            "pod",
		"kubeconfig_file": file("kubeconfig", raw, false),
		"namespaces":      map[string]any{"names": []string{ns}},
	}}
	sc["relabel_configs"] = append(sc["relabel_configs"].([]any),
		map[string]any{
			"source_labels": []string{"__meta_kubernetes_namespace", "__meta_kubernetes_pod_name", "__meta_kubernetes_pod_container_port_number"},
			"regex":         "(.+);(.+);(.+)",
			"target_label":  "__metrics_path__",
			"replacement":   strings.TrimSuffix(server.Path, "/") + "/api/v1/namespaces/$1/pods/$2:$3/proxy/metrics",
		},
		map[string]any{"target_label": "__address__", "replacement": server.Host},
	)
	text, err := yaml.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	return promserver.Start(t, testkit.Runfile(t, "PROMETHEUS"), text, map[string][]byte{"rules.yaml": rules})
}

// throwaway writes a kustomization that puts the one in dir into namespace
// ns, and returns its folder. The admission policy and its binding are
// cluster-wide: they are named after ns and bound to ns alone, so that a
// run neither touches nor leaves behind the cluster's own.
func throwaway(t *testing.T, dir, ns string) string {
	t.Helper()
	rename := func(kind, extra string) string {
		return fmt.Sprintf(`  - target: {kind: %s, name: bookstore-pods}
    patch: '[{"op": "replace", "path": "/metadata/name", "value": %q}%s]'
`, kind, ns, extra)
	}
	// kustomize takes no absolute path for a resource, and resolves the
	// folder's symlinks before it follows a relative one.
	out, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(out, dir)
	if err != nil {
		t.Fatal(err)
	}
	k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources:\n  - %s\npatches:\n", ns, rel) +
		rename("ValidatingAdmissionPolicy", "") +
		rename("ValidatingAdmissionPolicyBinding", fmt.Sprintf(`, {"op": "replace", "path": "/spec/policyName", "value": %q}, {"op": "replace", "path": "/spec/matchResources/namespaceSelector", "value": {"matchLabels": {"kubernetes.io/metadata.name": %q}}}`, ns, ns))
	if err := os.WriteFile(filepath.Join(out, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// admission shows the API server refusing pods of ns that the admission
// policy or Pod Security forbids: each is Recommendations' own pod with one
// thing changed, and the pod unchanged is admitted. Server-side dry runs:
// admission runs in full, nothing is created.
func admission(t *testing.T, k overlay.Kubectl, ns string) {
	t.Helper()
	out, err := k.Output(t.Context(), "get", "deployment", "recommendations", "-n", ns, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(spec map[string]any)
		want   string // in the refusal; "" for admitted
	}{
		{name: "as deployed", change: func(map[string]any) {}},
		{
			name: "tag-pinned",
			change: func(spec map[string]any) {
				container(spec)["image"] = "127.0.0.1:5005/bookstore/recommendations:dev"
			},
			want: "images must come from 127.0.0.1:5005 pinned by digest",
		},
		{
			name: "from another registry",
			change: func(spec map[string]any) {
				image := container(spec)["image"].(string)
				container(spec)["image"] = "docker.io/" + image[strings.Index(image, "/")+1:]
			},
			want: "images must come from 127.0.0.1:5005 pinned by digest",
		},
		{
			// Pod Security "restricted" refuses it.
			name: "root",
			change: func(spec map[string]any) {
				spec["securityContext"] = map[string]any{"runAsNonRoot": false, "runAsUser": 0, "seccompProfile": map[string]any{"type": "RuntimeDefault"}}
			},
			want: `violates PodSecurity "restricted`,
		},
		{
			// Pod Security allows it; the policy does not.
			name: "writable root filesystem",
			change: func(spec map[string]any) {
				container(spec)["securityContext"].(map[string]any)["readOnlyRootFilesystem"] = false
			},
			want: "containers must have a read-only root filesystem",
		},
	}
	for _, tt := range tests {
		var deployment struct {
			Spec struct {
				Template struct {
					Spec map[string]any
				}
			}
		}
		if err := json.Unmarshal([]byte(out), &deployment); err != nil {
			t.Fatal(err)
		}
		spec := deployment.Spec.Template.Spec
		tt.change(spec)
		pod, err := json.Marshal(map[string]any{
			"apiVersion": "v1",
			"kind":       "Pod",
			"metadata":   map[string]any{"name": "admission-" + strings.ReplaceAll(tt.name, " ", "-"), "namespace": ns},
			"spec":       spec,
		})
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		k.Stdout, k.Stderr = io.Discard, &stderr
		err = k.Run(t.Context(), pod, "create", "--dry-run=server", "-f", "-")
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("admission, pod %s: refused, want admitted: %s", tt.name, stderr.String())
		case tt.want != "" && err == nil:
			t.Errorf("admission, pod %s: admitted, want refused with %q", tt.name, tt.want)
		case tt.want != "" && !strings.Contains(stderr.String(), tt.want):
			t.Errorf("admission, pod %s: refused with %q, want %q", tt.name, stderr.String(), tt.want)
		case tt.want != "":
			t.Logf("admission, pod %s: refused: %s", tt.name, strings.TrimSpace(stderr.String()))
		}
	}

	// A debug container (`kubectl debug`) goes through the
	// ephemeralcontainers subresource of a running pod.
	pod, err := k.Output(t.Context(), "get", "pods", "-n", ns, "-l", "app.kubernetes.io/name=recommendations", "-o", "jsonpath={.items[0].metadata.name}")
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	k.Stdout, k.Stderr = io.Discard, &stderr
	err = k.Run(t.Context(), nil, "patch", "pod", pod, "-n", ns, "--subresource=ephemeralcontainers", "--dry-run=server",
		// Hardened as Pod Security wants, so only its image is wrong.
		"-p", `{"spec": {"ephemeralContainers": [{"name": "debug", "image": "docker.io/library/busybox",
			"securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}}`)
	const want = "images must come from 127.0.0.1:5005 pinned by digest"
	switch {
	case err == nil:
		t.Errorf("admission, a debug container from docker.io: admitted, want refused with %q", want)
	case !strings.Contains(stderr.String(), want):
		t.Errorf("admission, a debug container from docker.io: refused with %q, want %q", stderr.String(), want)
	default:
		t.Logf("admission, a debug container from docker.io: refused: %s", strings.TrimSpace(stderr.String()))
	}
}

// refuseUnsigned shows apply refusing an image that nobody signed: the
// local overlay in a namespace of its own, with Recommendations' image
// swapped for a copy of it under a new label, which is in the registry
// but has no signature, provenance or SBOM. Nothing may be applied: the
// namespace must not exist afterwards.
func refuseUnsigned(t *testing.T, c config, d overlay.Deployment, ns string) {
	t.Helper()
	signed, err := d.Kubectl.Output(t.Context(), "get", "deployment", "recommendations", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
	if err != nil {
		t.Fatal(err)
	}
	unsigned := relabel(t, signed, "org.onlinebooks.e2e.unsigned", "true")
	repo, digest, _ := strings.Cut(unsigned, "@")
	other := ns + "-unsigned"
	d.Dir = throwaway(t, c.overlayDir(defaultOverlay), other)
	swap := fmt.Sprintf("images:\n  - name: %s\n    digest: %s\n", repo, digest)
	f, err := os.OpenFile(filepath.Join(d.Dir, "kustomization.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(swap); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	var log bytes.Buffer
	d.Kubectl.Stdout, d.Kubectl.Stderr = &log, &log
	err = d.Apply(t.Context(), &log)
	const want = "no signature made with the key (the registry holds none for sha256:"
	switch {
	case err == nil:
		t.Errorf("apply of the unsigned %s: applied, want refused with %q", unsigned, want)
	case !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), unsigned):
		t.Errorf("apply of the unsigned %s: %v\nwant it refused with %q", unsigned, err, want)
	default:
		t.Logf("apply of an unsigned image: refused: %v", err)
	}
	if out, err := d.Kubectl.Output(t.Context(), "get", "namespace", other, "--ignore-not-found", "-o", "name"); err != nil || out != "" {
		t.Errorf("after the refused apply, namespace %s: %q, %v; want none", other, out, err)
		d.Delete(context.Background())
	}
}

// container is the first container of a pod spec.
func container(spec map[string]any) map[string]any {
	return spec["containers"].([]any)[0].(map[string]any)
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
