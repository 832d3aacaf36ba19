package kubedeploy

import (
	"strings"
	"testing"
)

// good is the smallest manifest set that passes Check: a Deployment its
// autoscaler scales.
const good = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 20
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          image: r.example/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          readinessProbe: {httpGet: {path: /healthz, port: 80}}
          livenessProbe: {httpGet: {path: /healthz, port: 80}}
          lifecycle: {preStop: {sleep: {seconds: 5}}}
          env: [{name: GOMAXPROCS, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}]
          resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 100m, memory: 64Mi}}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}, ingress: [{}]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, minReplicas: 2, maxReplicas: 4}
`

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // good with old replaced by new
		want     string // in the one error expected; "" for none
	}{
		{name: "good"},
		{"tag, not digest", "web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "web:latest", "not pinned by digest"},
		{"no readiness probe", "readinessProbe: {httpGet: {path: /healthz, port: 80}}", "", "readiness and a liveness probe"},
		{"no liveness probe", "livenessProbe: {httpGet: {path: /healthz, port: 80}}", "", "readiness and a liveness probe"},
		{"no preStop", "lifecycle: {preStop: {sleep: {seconds: 5}}}", "", "no preStop hook"},
		{"GOMAXPROCS not set", "env: [{name: GOMAXPROCS, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}]", "", "GOMAXPROCS"},
		{"GOMAXPROCS fixed", "{name: GOMAXPROCS, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}", "{name: GOMAXPROCS, value: \"4\"}", "GOMAXPROCS"},
		{"GOMAXPROCS from the request", "resource: limits.cpu}", "resource: requests.cpu}", "GOMAXPROCS"},
		{"GOMAXPROCS in millicores", "resource: limits.cpu}", "resource: limits.cpu, divisor: 1m}", "GOMAXPROCS"},
		{"GOMAXPROCS in whole CPUs, said", "resource: limits.cpu}", "resource: limits.cpu, divisor: \"1\"}", ""},
		{"GOMAXPROCS from its own limit, named", "resource: limits.cpu}", "resource: limits.cpu, containerName: web}", ""},
		{"GOMAXPROCS from another container's limit", "resource: limits.cpu}", "resource: limits.cpu, containerName: sidecar}", "GOMAXPROCS"},
		{"GOMAXPROCS overridden", "limits.cpu}}}]", "limits.cpu}}}, {name: GOMAXPROCS, value: \"4\"}]", "GOMAXPROCS"},
		{"no memory limit", "limits: {cpu: 100m, memory: 64Mi}", "limits: {cpu: 100m}", "no memory limit"},
		{"no cpu request", "requests: {cpu: 10m, memory: 16Mi}", "requests: {memory: 16Mi}", "no cpu request"},
		{"may run as root", "runAsNonRoot: true, ", "", "runAsNonRoot"},
		{"privilege escalation", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation"},
		{"writable root", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"capabilities kept", "capabilities: {drop: [ALL]}", "capabilities: {drop: [NET_RAW]}", "capabilities"},
		{"capability added", "drop: [ALL]", "drop: [ALL], add: [NET_ADMIN]", "capabilities"},
		{"no seccomp", ", seccompProfile: {type: RuntimeDefault}", "", "seccomp"},
		{"unconfined seccomp", "seccompProfile: {type: RuntimeDefault}", "seccompProfile: {type: Unconfined}", "seccomp"},
		{"token mounted", "      automountServiceAccountToken: false\n", "", "automountServiceAccountToken"},
		{"default ServiceAccount", "serviceAccountName: web", "serviceAccountName: default", "ServiceAccount"},
		{"no grace period", "terminationGracePeriodSeconds: 20", "", "terminationGracePeriodSeconds"},
		{"PDB selects other pods", "spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}", "spec: {minAvailable: 1, selector: {matchLabels: {app: db}}}", "PodDisruptionBudget"},
		{"no policy of its own", "spec: {podSelector: {matchLabels: {app: web}}, ingress: [{}]}", "spec: {podSelector: {matchLabels: {app: db}}, ingress: [{}]}", "NetworkPolicy of its own"},
		{"not autoscaled", "kind: Deployment, name: web}", "kind: Deployment, name: db}", "no replicas and no HorizontalPodAutoscaler"},
		{"no default deny", "policyTypes: [Ingress, Egress]", "policyTypes: [Ingress]", "default-deny"},
		{"unknown field", "terminationGracePeriodSeconds: 20", "terminationGracePeriodSeconds: 20\n      runAsRoot: false", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			manifests := good
			if tt.old != "" {
				if !strings.Contains(good, tt.old) {
					t.Fatalf("the test's manifests have no %q", tt.old)
				}
				manifests = strings.Replace(good, tt.old, tt.new, 1)
			}
			objs, err := Decode(strings.NewReader(manifests))
			if err != nil {
				t.Fatal(err)
			}
			errs := Check(objs)
			switch {
			case tt.want == "" && len(errs) > 0:
				t.Errorf("Check: got %v, want no error", errs)
			case tt.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want)):
				t.Errorf("Check: got %v, want one error containing %q", errs, tt.want)
			}
		})
	}
}
