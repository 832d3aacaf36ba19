package kubedeploy

import (
	"fmt"
	"regexp"
	"slices"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

var pinned = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)

// objects are the typed objects of a manifest set that Check looks at.
type objects struct {
	deployments []*appsv1.Deployment
	pdbs        []*policyv1.PodDisruptionBudget
	policies    []*networkingv1.NetworkPolicy
	autoscalers []*autoscalingv2.HorizontalPodAutoscaler
	accounts    map[string]*corev1.ServiceAccount
}

// Check returns what makes objs fall short of how this project deploys: an
// image not pinned by digest; a container without readiness and liveness
// probes, resource requests and limits, GOMAXPROCS taken from its CPU limit
// (the project's containers are Go), or the restricted security settings
// (non-root, read-only root, no privilege escalation, all capabilities
// dropped, seccomp RuntimeDefault); a pod with an API token or without a
// ServiceAccount of its own, a preStop hook, a PodDisruptionBudget or a
// NetworkPolicy; a Deployment that leaves its replicas to an autoscaler
// none of the objects is; a namespace without a default-deny NetworkPolicy.
// It also fails objects with fields their kind does not have.
func Check(objs []*unstructured.Unstructured) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	set, err := typed(objs)
	if err != nil {
		return []error{err}
	}
	namespaces := make(map[string]bool)
	for _, d := range set.deployments {
		namespaces[d.Namespace] = true
		where := "Deployment " + d.Namespace + "/" + d.Name
		pod := d.Spec.Template.Spec
		podLabels := labels.Set(d.Spec.Template.Labels)
		psc := pod.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			fail("%s: automountServiceAccountToken is not false", where)
		}
		if sa := set.accounts[d.Namespace+"/"+pod.ServiceAccountName]; pod.ServiceAccountName == "" || pod.ServiceAccountName == "default" || sa == nil {
			fail("%s: no ServiceAccount of its own among the manifests", where)
		}
		if d.Spec.Replicas == nil && !slices.ContainsFunc(set.autoscalers, func(a *autoscalingv2.HorizontalPodAutoscaler) bool {
			return a.Namespace == d.Namespace && a.Spec.ScaleTargetRef.Kind == "Deployment" && a.Spec.ScaleTargetRef.Name == d.Name
		}) {
			fail("%s: no replicas and no HorizontalPodAutoscaler scales it", where)
		}
		if pod.TerminationGracePeriodSeconds == nil {
			fail("%s: no terminationGracePeriodSeconds", where)
		}
		if !slices.ContainsFunc(set.pdbs, func(p *policyv1.PodDisruptionBudget) bool {
			return p.Namespace == d.Namespace && selects(p.Spec.Selector, podLabels)
		}) {
			fail("%s: no PodDisruptionBudget selects its pods", where)
		}
		if !slices.ContainsFunc(set.policies, func(p *networkingv1.NetworkPolicy) bool {
			return p.Namespace == d.Namespace && selects(&p.Spec.PodSelector, podLabels)
		}) {
			fail("%s: no NetworkPolicy of its own selects its pods", where)
		}
		for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
			where := where + " container " + c.Name
			if !pinned.MatchString(c.Image) {
				fail("%s: image %q is not pinned by digest", where, c.Image)
			}
			if c.ReadinessProbe == nil || c.LivenessProbe == nil {
				fail("%s: needs both a readiness and a liveness probe", where)
			}
			if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
				fail("%s: no preStop hook to wait for endpoints to drop the pod", where)
			}
			if !gomaxprocsFromLimit(c) {
				fail("%s: GOMAXPROCS is not set from its CPU limit (resourceFieldRef limits.cpu)", where)
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Requests[r]; !ok {
					fail("%s: no %s request", where, r)
				}
				if _, ok := c.Resources.Limits[r]; !ok {
					fail("%s: no %s limit", where, r)
				}
			}
			sc := c.SecurityContext
			if sc == nil {
				sc = &corev1.SecurityContext{}
			}
			if !isTrue(sc.RunAsNonRoot) && !isTrue(psc.RunAsNonRoot) {
				fail("%s: runAsNonRoot is not true", where)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				fail("%s: allowPrivilegeEscalation is not false", where)
			}
			if !isTrue(sc.ReadOnlyRootFilesystem) {
				fail("%s: readOnlyRootFilesystem is not true", where)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				fail("%s: capabilities are not drop [ALL] with none added", where)
			}
			seccomp := psc.SeccompProfile
			if sc.SeccompProfile != nil {
				seccomp = sc.SeccompProfile
			}
			if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
				fail("%s: seccomp profile is not RuntimeDefault", where)
			}
		}
	}
	for ns := range namespaces {
		if !slices.ContainsFunc(set.policies, func(p *networkingv1.NetworkPolicy) bool {
			return p.Namespace == ns && len(p.Spec.PodSelector.MatchLabels)+len(p.Spec.PodSelector.MatchExpressions) == 0 &&
				len(p.Spec.Ingress)+len(p.Spec.Egress) == 0 &&
				slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) &&
				slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}) {
			fail("namespace %s: no default-deny NetworkPolicy (all pods, Ingress and Egress, no rules)", ns)
		}
	}
	return errs
}

// typed converts the objects Check reads, refusing unknown fields.
func typed(objs []*unstructured.Unstructured) (objects, error) {
	set := objects{accounts: make(map[string]*corev1.ServiceAccount)}
	for _, o := range objs {
		var into any
		switch o.GroupVersionKind().String() {
		case "apps/v1, Kind=Deployment":
			d := &appsv1.Deployment{}
			set.deployments, into = append(set.deployments, d), d
		case "policy/v1, Kind=PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			set.pdbs, into = append(set.pdbs, p), p
		case "networking.k8s.io/v1, Kind=NetworkPolicy":
			p := &networkingv1.NetworkPolicy{}
			set.policies, into = append(set.policies, p), p
		case "autoscaling/v2, Kind=HorizontalPodAutoscaler":
			a := &autoscalingv2.HorizontalPodAutoscaler{}
			set.autoscalers, into = append(set.autoscalers, a), a
		case "admissionregistration.k8s.io/v1, Kind=ValidatingAdmissionPolicy":
			into = &admissionv1.ValidatingAdmissionPolicy{}
		case "admissionregistration.k8s.io/v1, Kind=ValidatingAdmissionPolicyBinding":
			into = &admissionv1.ValidatingAdmissionPolicyBinding{}
		case "/v1, Kind=ServiceAccount":
			sa := &corev1.ServiceAccount{}
			set.accounts[o.GetNamespace()+"/"+o.GetName()], into = sa, sa
		case "/v1, Kind=Service":
			into = &corev1.Service{}
		case "/v1, Kind=Namespace":
			into = &corev1.Namespace{}
		case "/v1, Kind=Secret":
			into = &corev1.Secret{}
		default:
			return set, fmt.Errorf("%s %s: a kind this project does not deploy", o.GroupVersionKind(), o.GetName())
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, into, true); err != nil {
			return set, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return set, nil
}

func selects(s *metav1.LabelSelector, l labels.Set) bool {
	sel, err := metav1.LabelSelectorAsSelector(s)
	return err == nil && !sel.Empty() && sel.Matches(l)
}

func isTrue(b *bool) bool { return b != nil && *b }

// gomaxprocsFromLimit says whether c's GOMAXPROCS (its last entry, the one
// that wins) is c's own CPU limit, rounded up to whole CPUs (the downward
// API's default divisor, 1). Go's own default is at least 2 whatever the
// limit, so a container limited to less than 2 CPUs would run more threads
// than its quota keeps busy, and stall for longer each period.
func gomaxprocsFromLimit(c corev1.Container) bool {
	var last *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "GOMAXPROCS" {
			last = &c.Env[i]
		}
	}
	if last == nil || last.ValueFrom == nil || last.ValueFrom.ResourceFieldRef == nil {
		return false
	}
	r := last.ValueFrom.ResourceFieldRef
	return r.Resource == "limits.cpu" && (r.ContainerName == "" || r.ContainerName == c.Name) &&
		(r.Divisor.IsZero() || r.Divisor.Cmp(resource.MustParse("1")) == 0)
}
