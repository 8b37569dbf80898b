// Package k8s_test renders every deploy/k8s overlay with kustomize (the
// library, pinned in go.mod), decodes every built-in object strictly into
// the Kubernetes API types (an unknown or misspelt field fails), validates
// every custom resource against its CRD's schema (testdata/crds), and
// checks the invariants the platform relies on against the code: the
// target registry, the route table, the NATS names. No cluster runs here;
// this is what can be checked without one (ADR 0026).
package k8s_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/lattice-platform/lattice/pkg/target"
	"github.com/lattice-platform/lattice/services/analytics/analyticssvc"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
	"github.com/lattice-platform/lattice/services/processing/processingsvc"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
	"github.com/lattice-platform/lattice/services/search/searchsvc"
)

// targets are the services the manifests must run.
var targets = []target.Target{gatewaysvc.Target, authsvc.Target, resourcesvc.Target, searchsvc.Target, processingsvc.Target, analyticssvc.Target}

// rendered is one overlay's objects: the built-in ones decoded into the
// API types, the custom ones (KEDA, cert-manager, Istio, Prometheus
// Operator) as plain values checked against their CRDs.
type rendered struct {
	objects []runtime.Object
	custom  []map[string]any
}

// customGroups are the API groups whose kinds are validated against a CRD
// schema rather than decoded into k8s.io/api types.
var customGroups = []string{"keda.sh", "cert-manager.io", "security.istio.io", "monitoring.coreos.com"}

// render builds dir with kustomize, as `kubectl kustomize` would (files
// only from within each kustomization), strictly decodes every built-in
// object and validates every custom resource against its CRD.
func render(t *testing.T, dir string) rendered {
	t.Helper()
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, batchv1.AddToScheme, networkingv1.AddToScheme} {
		require.NoError(t, add(scheme))
	}
	decode := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	schemas := loadCRDs(t, "testdata/crds")
	var out rendered
	for _, r := range resources.Resources() {
		what := fmt.Sprintf("%s/%s in %s", r.GetKind(), r.GetName(), dir)
		if slices.Contains(customGroups, strings.Split(r.GetApiVersion(), "/")[0]) {
			// Through JSON, so numbers and keys are what a JSON schema expects.
			y, err := r.AsYAML()
			require.NoError(t, err)
			js, err := yaml.YAMLToJSON(y)
			require.NoError(t, err)
			var v map[string]any
			require.NoError(t, json.Unmarshal(js, &v))
			require.NoError(t, schemas.validate(v), what)
			out.custom = append(out.custom, v)
			continue
		}
		y, err := r.AsYAML()
		require.NoError(t, err)
		obj, _, err := decode.Decode(y, nil, nil)
		require.NoError(t, err, what)
		out.objects = append(out.objects, obj)
	}
	return out
}

// customs are the custom resources of kind.
func (r rendered) customs(kind string) []map[string]any {
	var out []map[string]any
	for _, c := range r.custom {
		if c["kind"] == kind {
			out = append(out, c)
		}
	}
	return out
}

// all are the built-in objects of type T.
func all[T runtime.Object](r rendered) []T {
	var out []T
	for _, o := range r.objects {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func find[T runtime.Object](r rendered, name func(T) string, want string) (T, bool) {
	for _, o := range r.objects {
		if v, ok := o.(T); ok && name(v) == want {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// TestStrictDecodingRefusesUnknownFields: the decoder the checks use fails
// on a field the API does not have, so a misspelt manifest cannot pass.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, corev1.AddToScheme(scheme))
	decode := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	_, _, err := decode.Decode([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {portz: []}\n"), nil, nil)
	require.ErrorContains(t, err, `unknown field "spec.portz"`)
}

// TestTheBaseRunsEveryServiceSafely: every service of the registry runs as
// a workload whose pod is locked down, probed on its admin port, sized,
// spread, and has its own ServiceAccount, PodDisruptionBudget and a
// Service that exposes the API port only.
func TestTheBaseRunsEveryServiceSafely(t *testing.T) {
	r := render(t, "../../deploy/k8s/base")
	for _, tg := range targets {
		t.Run(tg.Name, func(t *testing.T) {
			var pod corev1.PodSpec
			var labels map[string]string
			if d, ok := find(r, func(d *appsv1.Deployment) string { return d.Name }, tg.Name); ok {
				pod, labels = d.Spec.Template.Spec, d.Spec.Template.Labels
			} else if s, ok := find(r, func(s *appsv1.StatefulSet) string { return s.Name }, tg.Name); ok {
				pod, labels = s.Spec.Template.Spec, s.Spec.Template.Labels
			} else {
				t.Fatalf("no Deployment or StatefulSet %s", tg.Name)
			}
			require.Equal(t, tg.Name, labels["app.kubernetes.io/name"])

			psc := pod.SecurityContext
			require.NotNil(t, psc)
			require.True(t, psc.RunAsNonRoot != nil && *psc.RunAsNonRoot, "runAsNonRoot")
			require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)
			require.NotEmpty(t, pod.TopologySpreadConstraints, "spread across nodes and zones")
			require.Equal(t, tg.Name, pod.ServiceAccountName)
			require.False(t, pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken, "no API token: the services never call Kubernetes")
			_, ok := find(r, func(s *corev1.ServiceAccount) string { return s.Name }, tg.Name)
			require.True(t, ok, "ServiceAccount")

			require.Len(t, pod.Containers, 1)
			c := pod.Containers[0]
			require.Equal(t, []string{"serve", "--target=" + tg.Name}, c.Args)
			csc := c.SecurityContext
			require.NotNil(t, csc)
			require.True(t, csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem, "readOnlyRootFilesystem")
			require.True(t, csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation, "no privilege escalation")
			require.Equal(t, []corev1.Capability{"ALL"}, csc.Capabilities.Drop)
			require.False(t, c.Resources.Requests.Cpu().IsZero(), "a CPU request")
			require.False(t, c.Resources.Requests.Memory().IsZero(), "a memory request")
			require.False(t, c.Resources.Limits.Memory().IsZero(), "a memory limit")

			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			require.EqualValues(t, tg.Port, ports["http"], "the API port is the registry's")
			require.NotZero(t, ports["admin"])
			env := map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			upper := strings.ToUpper(tg.Name)
			require.Equal(t, fmt.Sprintf(":%d", tg.Port), env[upper+"_ADDR"])
			require.Equal(t, fmt.Sprintf(":%d", ports["admin"]), env[upper+"_ADMIN_ADDR"])
			for probe, path := range map[*corev1.Probe]string{c.StartupProbe: "/healthz", c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
				require.NotNil(t, probe)
				require.Equal(t, path, probe.HTTPGet.Path)
				require.Equal(t, "admin", probe.HTTPGet.Port.StrVal, "probed on the admin port")
			}
			for _, e := range c.Env {
				if strings.HasSuffix(e.Name, "_FILE") {
					require.True(t, slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
						return strings.HasPrefix(e.Value, m.MountPath+"/")
					}), "%s=%s is on a mounted volume", e.Name, e.Value)
				}
			}

			svc, ok := find(r, func(s *corev1.Service) string { return s.Name }, tg.Name)
			require.True(t, ok, "Service")
			require.Len(t, svc.Spec.Ports, 1)
			require.EqualValues(t, tg.Port, svc.Spec.Ports[0].Port)
			require.Equal(t, "http", svc.Spec.Ports[0].TargetPort.StrVal, "the admin port is not exposed")
			pdb, ok := find(r, func(p *policyv1.PodDisruptionBudget) string { return p.Name }, tg.Name)
			require.True(t, ok, "PodDisruptionBudget")
			require.Equal(t, tg.Name, pdb.Spec.Selector.MatchLabels["app.kubernetes.io/name"])
		})
	}
	for _, name := range []string{"gateway", "auth", "resource"} {
		hpa, ok := find(r, func(h *autoscalingv2.HorizontalPodAutoscaler) string { return h.Name }, name)
		require.True(t, ok, "%s has an HPA", name)
		require.Equal(t, name, hpa.Spec.ScaleTargetRef.Name)
		require.Len(t, hpa.Spec.Metrics, 1)
		require.Equal(t, corev1.ResourceCPU, hpa.Spec.Metrics[0].Resource.Name)
	}
}
