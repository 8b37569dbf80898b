package k8s_test

import (
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/pkg/target"
	"github.com/lattice-platform/lattice/services/gateway/routing"
)

// overlays are the deployments an operator applies.
var overlays = []string{"dev", "prod", "istio"}

const namespace = "lattice"

// storePorts are the ports each kind of outside system listens on, as the
// NetworkPolicies open them.
var storePorts = map[target.System][]int32{
	target.PostgreSQL: {5432}, target.MySQL: {3306, 4000}, target.Redis: {6379},
	target.S3: {443, 9000}, target.ClickHouse: {8123, 8443}, target.Embeddings: {443},
}

// field reads a nested value of a custom resource.
func field[T any](t *testing.T, obj map[string]any, path ...string) T {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(obj, path...)
	require.NoError(t, err)
	require.True(t, ok, "%s has %v", obj["metadata"], path)
	out, ok := v.(T)
	require.True(t, ok, "%v is a %T", path, v)
	return out
}

func named(t *testing.T, objs []map[string]any, name string) map[string]any {
	t.Helper()
	for _, o := range objs {
		if field[string](t, o, "metadata", "name") == name {
			return o
		}
	}
	t.Fatalf("no %s", name)
	return nil
}

// TestEveryOverlayRendersIntoOneNamespace: dev, prod and istio build,
// every object decodes strictly or validates against its CRD (render),
// and everything namespaced lands in "lattice", which the certificates'
// DNS names assume.
func TestEveryOverlayRendersIntoOneNamespace(t *testing.T) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			r := render(t, "../../deploy/k8s/overlays/"+o)
			for _, obj := range r.objects {
				m := obj.(interface {
					GetNamespace() string
					GetName() string
				})
				if _, ok := obj.(*corev1.Namespace); ok {
					continue
				}
				require.Equal(t, namespace, m.GetNamespace(), "%T %s", obj, m.GetName())
			}
			for _, c := range r.custom {
				require.Equal(t, namespace, field[string](t, c, "metadata", "namespace"), "%s %s", c["kind"], c["metadata"])
			}
		})
	}
}

// TestDevRunsOneOfEverythingWithItsStores and prod many, without them.
func TestDevAndProdReplicasAndStores(t *testing.T) {
	dev := render(t, "../../deploy/k8s/overlays/dev")
	prod := render(t, "../../deploy/k8s/overlays/prod")
	inCluster := []string{"nats", "postgres", "mariadb", "redis"}
	for _, d := range all[*appsv1.Deployment](dev) {
		require.EqualValues(t, 1, *d.Spec.Replicas, d.Name)
	}
	for _, s := range all[*appsv1.StatefulSet](dev) {
		require.EqualValues(t, 1, *s.Spec.Replicas, s.Name)
	}
	for _, name := range inCluster {
		_, ok := find(dev, func(s *appsv1.StatefulSet) string { return s.Name }, name)
		require.True(t, ok, "dev runs %s in the namespace", name)
		_, ok = find(prod, func(s *appsv1.StatefulSet) string { return s.Name }, name)
		require.False(t, ok, "prod uses an outside %s", name)
	}
	for _, d := range all[*appsv1.Deployment](prod) {
		if d.Name == "analytics" { // one ingesting replica (ADR 0011)
			require.EqualValues(t, 1, *d.Spec.Replicas)
			continue
		}
		require.GreaterOrEqual(t, *d.Spec.Replicas, int32(3), "%s is highly available", d.Name)
	}
	for _, s := range all[*appsv1.StatefulSet](prod) {
		require.GreaterOrEqual(t, *s.Spec.Replicas, int32(3), s.Name)
	}
	for _, h := range all[*autoscalingv2.HorizontalPodAutoscaler](prod) {
		require.GreaterOrEqual(t, *h.Spec.MinReplicas, int32(3), h.Name)
	}
	for _, s := range prod.customs("ScaledObject") {
		require.GreaterOrEqual(t, field[float64](t, s, "spec", "minReplicaCount"), 3.0)
	}
	_, ok := find(prod, func(s *corev1.Secret) string { return s.Name }, "lattice-secrets")
	require.False(t, ok, "production secrets come from the operator's store, not the repository")
	cm, ok := find(prod, func(c *corev1.ConfigMap) string { return c.Name }, "lattice-env")
	require.True(t, ok)
	require.NotEmpty(t, cm.Data["S3_ENDPOINT"], "prod stores uploads in S3")
	a, _ := find(prod, func(d *appsv1.Deployment) string { return d.Name }, "analytics")
	require.True(t, slices.ContainsFunc(a.Spec.Template.Spec.Containers[0].Env, func(e corev1.EnvVar) bool {
		return e.Name == "ANALYTICS_CLICKHOUSE_URL_FILE"
	}), "prod analytics runs on ClickHouse")
}

// TestTheDevSecretHasEveryKeyTheOverlayReads: scripts/k8s-dev-secrets
// makes every key a dev pod mounts or reads.
func TestTheDevSecretHasEveryKeyTheOverlayReads(t *testing.T) {
	out, err := exec.Command("../../scripts/k8s-dev-secrets").Output()
	require.NoError(t, err)
	var secret corev1.Secret
	require.NoError(t, yaml.UnmarshalStrict(out, &secret))
	require.Equal(t, "lattice-secrets", secret.Name)
	require.Equal(t, namespace, secret.Namespace)
	dev := render(t, "../../deploy/k8s/overlays/dev")
	var specs []corev1.PodSpec
	for _, d := range all[*appsv1.Deployment](dev) {
		specs = append(specs, d.Spec.Template.Spec)
	}
	for _, s := range all[*appsv1.StatefulSet](dev) {
		specs = append(specs, s.Spec.Template.Spec)
	}
	for _, j := range all[*batchv1.Job](dev) {
		specs = append(specs, j.Spec.Template.Spec)
	}
	read := 0
	for _, spec := range specs {
		for _, v := range spec.Volumes {
			if v.Secret != nil && v.Secret.SecretName == "lattice-secrets" {
				for _, item := range v.Secret.Items {
					require.Contains(t, secret.StringData, item.Key)
					read++
				}
			}
		}
		for _, c := range spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					require.Contains(t, secret.StringData, e.ValueFrom.SecretKeyRef.Key)
					read++
				}
			}
		}
	}
	require.Greater(t, read, 10)
}

// TestMigrationJobsRunBeforeTheServices: a Job per service with a store
// runs its migrations, with the service's own database settings, in an
// earlier sync wave than the Deployments.
func TestMigrationJobsRunBeforeTheServices(t *testing.T) {
	r := render(t, "../../deploy/k8s/base")
	jobs := all[*batchv1.Job](r)
	var want []string
	for _, tg := range targets {
		if tg.Load(config.FromMap(nil), target.Settings{}).Migrate == nil {
			continue
		}
		want = append(want, "migrate-"+tg.Name)
		j, ok := find(r, func(j *batchv1.Job) string { return j.Name }, "migrate-"+tg.Name)
		require.True(t, ok, "%s has a store: a migration Job", tg.Name)
		c := j.Spec.Template.Spec.Containers[0]
		require.Equal(t, []string{"migrate", "--target=" + tg.Name}, c.Args)
		require.Equal(t, "migration", j.Labels["app.kubernetes.io/component"])
		require.Equal(t, "-1", j.Annotations["argocd.argoproj.io/sync-wave"])
		require.NotEqual(t, tg.Name, j.Spec.Template.Labels["app.kubernetes.io/name"], "a Service selecting the service must not pick the Job's pod")
		var svc corev1.Container
		if d, ok := find(r, func(d *appsv1.Deployment) string { return d.Name }, tg.Name); ok {
			svc = d.Spec.Template.Spec.Containers[0]
		} else {
			s, _ := find(r, func(s *appsv1.StatefulSet) string { return s.Name }, tg.Name)
			svc = s.Spec.Template.Spec.Containers[0]
		}
		require.Equal(t, svc.Image, c.Image)
		for _, v := range j.Spec.Template.Spec.Volumes {
			if v.Secret != nil && v.Secret.SecretName == tg.Name+"-tls" {
				require.True(t, v.Secret.Optional != nil && *v.Secret.Optional,
					"a first install runs the Job before cert-manager has issued %s", v.Secret.SecretName)
			}
		}
		upper := strings.ToUpper(tg.Name)
		require.Contains(t, c.Env, envNamed(svc.Env, upper+"_DATABASE_URL_FILE"), "the service's database")
	}
	got := make([]string, 0, len(jobs))
	for _, j := range jobs {
		got = append(got, j.Name)
	}
	require.ElementsMatch(t, want, got)
}

func envNamed(env []corev1.EnvVar, name string) corev1.EnvVar {
	for _, e := range env {
		if e.Name == name {
			return e
		}
	}
	return corev1.EnvVar{Name: name + " (missing)"}
}

// TestKEDATriggersNameWhatTheCodeUses: the ScaledObjects read the stream,
// consumer and account the code creates, for the workloads that pull.
func TestKEDATriggersNameWhatTheCodeUses(t *testing.T) {
	r := render(t, "../../deploy/k8s/base")
	trigger := func(name string) (map[string]any, map[string]any) {
		so := named(t, r.customs("ScaledObject"), name)
		triggers := field[[]any](t, so, "spec", "triggers")
		require.Len(t, triggers, 1)
		tr := triggers[0].(map[string]any)
		require.Equal(t, "nats-jetstream", tr["type"])
		return so, tr["metadata"].(map[string]any)
	}
	so, md := trigger("processing")
	require.Equal(t, natsjs.JobsStream.Name, md["stream"])
	require.Equal(t, natsjs.JobsConsumer, md["consumer"])
	require.Equal(t, natsjs.Account, md["account"])
	require.Equal(t, "processing", field[string](t, so, "spec", "scaleTargetRef", "name"))

	so, md = trigger("search")
	require.Equal(t, natsjs.EventsStream, md["stream"])
	require.Equal(t, natsjs.Account, md["account"])
	require.Equal(t, "StatefulSet", field[string](t, so, "spec", "scaleTargetRef", "kind"))
	s, ok := find(r, func(s *appsv1.StatefulSet) string { return s.Name }, field[string](t, so, "spec", "scaleTargetRef", "name"))
	require.True(t, ok)
	// Each replica's consumer is its pod's name (SEARCH_CONSUMER); the
	// trigger reads the first replica's.
	consumer := envNamed(s.Spec.Template.Spec.Containers[0].Env, "SEARCH_CONSUMER")
	require.Equal(t, "metadata.name", consumer.ValueFrom.FieldRef.FieldPath)
	require.Equal(t, s.Name+"-0", md["consumer"])

	for _, h := range all[*autoscalingv2.HorizontalPodAutoscaler](r) {
		require.NotContains(t, []string{"processing", "search"}, h.Spec.ScaleTargetRef.Name, "KEDA owns its targets' HPA")
	}
}

// edge is one allowed connection: from a workload (or "any", "prometheus",
// "keda") to a workload (or "any" outside address) on a port.
type edge struct {
	from, to string
	port     int32
}

func (e edge) String() string { return fmt.Sprintf("%s->%s:%d", e.from, e.to, e.port) }

// peerName names a NetworkPolicy peer the way edges do.
func peerName(t *testing.T, p networkingv1.NetworkPolicyPeer) string {
	switch {
	case p.NamespaceSelector != nil && p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "monitoring" &&
		p.PodSelector != nil && p.PodSelector.MatchLabels["app.kubernetes.io/name"] == "prometheus":
		return "prometheus"
	case p.NamespaceSelector != nil && p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "keda" && p.PodSelector == nil:
		return "keda"
	case p.NamespaceSelector != nil && p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "kube-system":
		return "dns"
	case p.NamespaceSelector == nil && p.PodSelector != nil && p.IPBlock == nil:
		if name := p.PodSelector.MatchLabels["app.kubernetes.io/name"]; name != "" {
			return name
		}
	}
	t.Fatalf("a peer the test does not know: %+v", p)
	return ""
}

// peerNames names a rule's peers; a rule without peers admits "any".
func peerNames(t *testing.T, peers []networkingv1.NetworkPolicyPeer) []string {
	if len(peers) == 0 {
		return []string{"any"}
	}
	out := make([]string, 0, len(peers))
	for _, p := range peers {
		out = append(out, peerName(t, p))
	}
	return out
}

// policyEdges are what the NetworkPolicies of r allow, as seen by the
// receiving side (ingress) and the sending side (egress).
func policyEdges(t *testing.T, r rendered) (ingress, egress map[edge]bool) {
	ingress, egress = map[edge]bool{}, map[edge]bool{}
	for _, np := range all[*networkingv1.NetworkPolicy](r) {
		self := np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"]
		if self == "" {
			continue // namespace-wide: default deny, DNS, traces
		}
		for _, rule := range np.Spec.Ingress {
			for _, from := range peerNames(t, rule.From) {
				for _, p := range rule.Ports {
					ingress[edge{from, self, p.Port.IntVal}] = true
				}
			}
		}
		for _, rule := range np.Spec.Egress {
			for _, to := range peerNames(t, rule.To) {
				for _, p := range rule.Ports {
					egress[edge{self, to, p.Port.IntVal}] = true
				}
			}
		}
	}
	return ingress, egress
}

// callees are the services tg calls: the registry's Needs and, for the
// gateway, every upstream of the route table.
func callees(t *testing.T, tg target.Target) []string {
	out := slices.Clone(tg.Needs)
	if tg.Name == "gateway" {
		known := map[string]bool{}
		for _, x := range targets {
			known[x.Name] = true
		}
		routes, err := routing.Load("", known)
		require.NoError(t, err)
		for _, r := range routes.Table.Routes() {
			out = append(out, r.Upstream)
		}
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == tg.Name }) // routes it serves itself
	slices.Sort(out)
	return slices.Compact(out)
}

func portOf(name string) int32 {
	for _, tg := range targets {
		if tg.Name == name {
			return int32(tg.Port)
		}
	}
	return 0
}

func edgeList(m map[edge]bool) []string {
	var out []string
	for e := range maps.Keys(m) {
		out = append(out, e.String())
	}
	slices.Sort(out)
	return out
}

// TestNetworkPoliciesAllowExactlyTheArchitecture: derived from the code
// (the registry's Needs and Uses, the gateway's routes), the edges each
// service may send on and receive are exactly those the policies allow.
func TestNetworkPoliciesAllowExactlyTheArchitecture(t *testing.T) {
	r := render(t, "../../deploy/k8s/base")
	deny, ok := find(r, func(n *networkingv1.NetworkPolicy) string { return n.Name }, "default-deny")
	require.True(t, ok, "deny by default")
	require.Empty(t, deny.Spec.PodSelector.MatchLabels)
	require.ElementsMatch(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, deny.Spec.PolicyTypes)
	require.Empty(t, deny.Spec.Ingress)
	require.Empty(t, deny.Spec.Egress)

	wantIn, wantOut := map[edge]bool{}, map[edge]bool{}
	services := map[string]bool{}
	for _, tg := range targets {
		services[tg.Name] = true
		for _, callee := range callees(t, tg) {
			wantOut[edge{tg.Name, callee, portOf(callee)}] = true
			wantIn[edge{tg.Name, callee, portOf(callee)}] = true
		}
		wantOut[edge{tg.Name, "nats", 4222}] = true
		for _, u := range tg.Uses {
			for _, p := range storePorts[u] {
				wantOut[edge{tg.Name, "any", p}] = true
			}
		}
		wantIn[edge{"prometheus", tg.Name, int32(tg.Port + 1000)}] = true
	}
	wantIn[edge{"any", "gateway", portOf("gateway")}] = true

	gotIn, gotOut := policyEdges(t, r)
	maps.DeleteFunc(gotIn, func(e edge, _ bool) bool { return !services[e.to] })
	maps.DeleteFunc(gotOut, func(e edge, _ bool) bool { return !services[e.from] })
	require.Equal(t, edgeList(wantIn), edgeList(gotIn), "ingress")
	require.Equal(t, edgeList(wantOut), edgeList(gotOut), "egress")

	// Every service may reach NATS, and NATS takes them.
	natsIn, _ := policyEdges(t, r)
	for _, tg := range targets {
		require.True(t, natsIn[edge{tg.Name, "nats", 4222}], "nats admits %s", tg.Name)
	}
	require.True(t, natsIn[edge{"keda", "nats", 8222}], "KEDA reads consumer lag")
}

// TestDevStoresAdmitTheirUsersOnly: in dev, each store takes connections
// from the services whose registry entry uses it, and their migrations.
func TestDevStoresAdmitTheirUsersOnly(t *testing.T) {
	r := render(t, "../../deploy/k8s/overlays/dev")
	ingress, _ := policyEdges(t, r)
	stores := map[string]target.System{"postgres": target.PostgreSQL, "mariadb": target.MySQL, "redis": target.Redis}
	for store, sys := range stores {
		var want, got []string
		for _, tg := range targets {
			if slices.Contains(tg.Uses, sys) {
				want = append(want, tg.Name)
				if sys != target.Redis {
					want = append(want, "migrate-"+tg.Name)
				}
			}
		}
		for e := range ingress {
			if e.to == store {
				require.Equal(t, storePorts[sys][0], e.port)
				got = append(got, e.from)
			}
		}
		require.ElementsMatch(t, want, got, store)
	}
}

// TestCertificatesGiveEachServiceItsIdentity: cert-manager issues each
// service the certificate its pods mount, with the URI SAN that mutual
// TLS and NATS read as its identity, valid for its names in the namespace.
func TestCertificatesGiveEachServiceItsIdentity(t *testing.T) {
	r := render(t, "../../deploy/k8s/overlays/prod")
	certs := r.customs("Certificate")
	for _, tg := range targets {
		c := named(t, certs, tg.Name)
		require.Equal(t, []any{tlsfiles.SPIFFEPrefix + tg.Name}, field[[]any](t, c, "spec", "uris"))
		dns := field[[]any](t, c, "spec", "dnsNames")
		require.Contains(t, dns, tg.Name)
		require.Contains(t, dns, tg.Name+"."+namespace+".svc")
		require.ElementsMatch(t, []any{"server auth", "client auth", "digital signature"}, field[[]any](t, c, "spec", "usages"))
		require.Equal(t, "lattice-ca", field[string](t, c, "spec", "issuerRef", "name"))
		var pod corev1.PodSpec
		if d, ok := find(r, func(d *appsv1.Deployment) string { return d.Name }, tg.Name); ok {
			pod = d.Spec.Template.Spec
		} else {
			s, _ := find(r, func(s *appsv1.StatefulSet) string { return s.Name }, tg.Name)
			pod = s.Spec.Template.Spec
		}
		i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == "tls" })
		require.GreaterOrEqual(t, i, 0)
		require.Equal(t, field[string](t, c, "spec", "secretName"), pod.Volumes[i].Secret.SecretName, "the pod mounts the certificate's Secret")
	}
	ca := named(t, certs, "lattice-ca")
	require.True(t, field[bool](t, ca, "spec", "isCA"))
	named(t, r.customs("Issuer"), "lattice-ca")
}

// TestPrometheusScrapesEveryAdminPort: a PodMonitor per service, on the
// admin port, verifying the service's certificate by its name.
func TestPrometheusScrapesEveryAdminPort(t *testing.T) {
	r := render(t, "../../deploy/k8s/base")
	for _, tg := range targets {
		pm := named(t, r.customs("PodMonitor"), tg.Name)
		require.Equal(t, tg.Name, field[string](t, pm, "spec", "selector", "matchLabels", "app.kubernetes.io/name"))
		eps := field[[]any](t, pm, "spec", "podMetricsEndpoints")
		require.Len(t, eps, 1)
		ep := eps[0].(map[string]any)
		require.Equal(t, "admin", ep["port"])
		require.Equal(t, "https", ep["scheme"])
		require.Equal(t, tg.Name, ep["tlsConfig"].(map[string]any)["serverName"])
	}
	dashboards, ok := find(r, func(c *corev1.ConfigMap) string { return c.Name }, "lattice-dashboards")
	require.True(t, ok, "the base provisions the dashboards")
	require.Equal(t, "1", dashboards.Labels["grafana_dashboard"])
	require.Len(t, dashboards.Data, 8)
}

// TestIstioMirrorsTheNetworkPolicies: in the istio overlay, mutual TLS is
// strict and each service's AuthorizationPolicy admits, by ServiceAccount,
// exactly the callers its NetworkPolicy admits, on the same port.
func TestIstioMirrorsTheNetworkPolicies(t *testing.T) {
	r := render(t, "../../deploy/k8s/overlays/istio")
	pa := named(t, r.customs("PeerAuthentication"), "default")
	require.Equal(t, "STRICT", field[string](t, pa, "spec", "mtls", "mode"))
	_, hasSelector := pa["spec"].(map[string]any)["selector"]
	require.False(t, hasSelector, "namespace-wide")
	nothing := named(t, r.customs("AuthorizationPolicy"), "allow-nothing")
	require.Empty(t, nothing["spec"])

	ingress, _ := policyEdges(t, r)
	for _, tg := range append(slices.Clone(targets), target.Target{Name: "nats"}) {
		ap := named(t, r.customs("AuthorizationPolicy"), tg.Name)
		require.Equal(t, "ALLOW", field[string](t, ap, "spec", "action"))
		mesh := map[edge]bool{}
		for _, rule := range field[[]any](t, ap, "spec", "rules") {
			rule := rule.(map[string]any)
			var from []string
			if fr, ok := rule["from"].([]any); ok {
				for _, f := range fr {
					for _, p := range f.(map[string]any)["source"].(map[string]any)["principals"].([]any) {
						prefix := "cluster.local/ns/" + namespace + "/sa/"
						require.True(t, strings.HasPrefix(p.(string), prefix), p)
						from = append(from, strings.TrimPrefix(p.(string), prefix))
					}
				}
			} else {
				from = []string{"outside the mesh"}
			}
			for _, to := range rule["to"].([]any) {
				for _, port := range to.(map[string]any)["operation"].(map[string]any)["ports"].([]any) {
					var n int32
					_, err := fmt.Sscan(port.(string), &n)
					require.NoError(t, err)
					for _, f := range from {
						mesh[edge{f, tg.Name, n}] = true
					}
				}
			}
		}
		// Sources outside the mesh (anyone at the public door, Prometheus,
		// KEDA) have no identity; the mesh allows their port to anyone and
		// leaves who to the NetworkPolicy.
		want := map[edge]bool{}
		for e := range ingress {
			if e.to != tg.Name {
				continue
			}
			if services := slices.ContainsFunc(append(slices.Clone(targets), target.Target{Name: "nats"}), func(x target.Target) bool { return x.Name == e.from }); services {
				want[e] = true
			} else {
				want[edge{"outside the mesh", e.to, e.port}] = true
			}
		}
		require.Equal(t, edgeList(want), edgeList(mesh), tg.Name)
	}
}

// TestEachTargetStartsWithItsRuntimeSettings: a target that asks for
// runtime settings (target.Description.GODEBUG, read by Go only at start)
// gets them in its container's environment in every overlay.
func TestEachTargetStartsWithItsRuntimeSettings(t *testing.T) {
	asked := 0
	for _, o := range overlays {
		r := render(t, "../../deploy/k8s/overlays/"+o)
		for _, tg := range targets {
			if tg.GODEBUG == "" {
				continue
			}
			asked++
			d, ok := find(r, func(d *appsv1.Deployment) string { return d.Name }, tg.Name)
			require.True(t, ok, "%s: no Deployment %s", o, tg.Name)
			have := envNamed(d.Spec.Template.Spec.Containers[0].Env, "GODEBUG").Value
			_, missing := target.WithGODEBUG(have, tg.GODEBUG)
			require.Empty(t, missing, "%s: %s starts without these GODEBUG settings", o, tg.Name)
		}
	}
	require.Positive(t, asked, "the gateway asks for its settings")
}
