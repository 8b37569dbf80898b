// Package observability_test checks the operator's side of the platform
// against the code: every metric a Grafana dashboard (deploy/grafana) or a
// Prometheus rule (deploy/prometheus/rules) names is one the services
// export, every query parses with Prometheus's own parser, and every alert
// has a severity the Alertmanager example routes and a runbook section in
// docs/operations.md. (promtool runs the rules' unit tests: make
// check-deploy.)
package observability_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// TestMain checks for leaked goroutines and removes the lattice binary
// the tests build.
func TestMain(m *testing.M) { testinfra.Run(m) }

// root is the repository's top directory.
const root = "../.."

// conditional are metrics a default `lattice serve --target=all` does not
// register, because the feature they measure is off there; each is checked
// to be in the code at least.
var conditional = map[string]string{
	"lattice_tls_certificate_expiry_timestamp_seconds": "pkg/platform/tlsfiles/metrics.go",     // only with TLS
	"lattice_ratelimit_fallback":                       "pkg/adapters/tokenbucket/fallback.go", // only with Redis limits
	"lattice_ratelimit_fallback_decisions_total":       "pkg/adapters/tokenbucket/fallback.go",
}

// query is one PromQL expression and where it was found.
type query struct{ where, expr string }

// dashboardQueries reads every panel target of deploy/grafana/*.json.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "deploy/grafana/*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []query
	uids := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var d struct {
			UID, Title string
			Panels     []struct {
				Title   string
				Targets []struct{ Expr string }
			}
		}
		require.NoError(t, json.Unmarshal(raw, &d), f)
		require.NotEmpty(t, d.UID, f)
		require.NotContains(t, uids, d.UID, "%s: uid already used by %s", f, uids[d.UID])
		uids[d.UID] = f
		require.NotEmpty(t, d.Panels, f)
		for _, p := range d.Panels {
			require.NotEmpty(t, p.Targets, "%s: panel %q has no query", f, p.Title)
			for _, tg := range p.Targets {
				out = append(out, query{where: filepath.Base(f) + ": " + p.Title, expr: tg.Expr})
			}
		}
	}
	return out
}

// rule is a Prometheus recording or alerting rule.
type rule struct {
	Record, Alert, Expr string
	Labels              map[string]string
	Annotations         map[string]string
}

func rules(t *testing.T) []rule {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "deploy/prometheus/rules/*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []rule
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc struct{ Groups []struct{ Rules []rule } }
		require.NoError(t, yaml.Unmarshal(raw, &doc), f)
		for _, g := range doc.Groups {
			out = append(out, g.Rules...)
		}
	}
	return out
}

// metricNames parses expr and returns the metric names its selectors name.
func metricNames(t *testing.T, q query) []string {
	t.Helper()
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.expr)
	require.NoError(t, err, "%s: %s", q.where, q.expr)
	var names []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			require.NotEmpty(t, vs.Name, "%s: a selector without a metric name: %s", q.where, q.expr)
			names = append(names, vs.Name)
		}
		return nil
	})
	require.NotEmpty(t, names, "%s: names no metric: %s", q.where, q.expr)
	return names
}

// TestDashboardsAndRulesNameExportedMetrics: every query parses and names
// only metrics the running services export (their catalogs, which list
// families without series too) or the rules record.
func TestDashboardsAndRulesNameExportedMetrics(t *testing.T) {
	served := testinfra.Serve(t, testinfra.PlatformEnv(t))
	exported := map[string]bool{}
	for _, svc := range []string{"gateway", "auth", "resource", "search", "processing", "analytics"} {
		base, ok := served.Admin[svc]
		require.True(t, ok, "%s logs its admin listener", svc)
		resp, err := http.Get(base + "/metrics/catalog")
		require.NoError(t, err)
		var catalog struct{ Metrics []string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&catalog))
		resp.Body.Close()
		require.Contains(t, catalog.Metrics, "lattice_http_requests_total", svc)
		for _, m := range catalog.Metrics {
			exported[m] = true
		}
	}
	for name, file := range conditional {
		src, err := os.ReadFile(filepath.Join(root, file))
		require.NoError(t, err)
		require.Contains(t, string(src), `"`+name, "%s is registered in %s", name, file)
		exported[name] = true
	}
	allRules := rules(t)
	for _, r := range allRules {
		if r.Record != "" {
			exported[r.Record] = true
		}
	}
	queries := dashboardQueries(t)
	for _, r := range allRules {
		queries = append(queries, query{where: "rule " + r.Record + r.Alert, expr: r.Expr})
	}
	histogramPart := regexp.MustCompile(`_(bucket|count|sum)$`)
	used := map[string]bool{}
	for _, q := range queries {
		for _, name := range metricNames(t, q) {
			used[name] = true
			base := histogramPart.ReplaceAllString(name, "")
			require.True(t, exported[name] || exported[base], "%s names %s, which no service exports: %s", q.where, name, q.expr)
		}
	}
	t.Logf("%d queries name %d metrics, all exported", len(queries), len(used))
}

// TestAlertsAreRoutedAndHaveRunbooks: each alert has a severity the
// Alertmanager example routes, a summary, and a runbook link to a section
// of docs/operations.md that exists.
func TestAlertsAreRoutedAndHaveRunbooks(t *testing.T) {
	ops, err := os.ReadFile(filepath.Join(root, "docs/operations.md"))
	require.NoError(t, err)
	anchors := map[string]bool{}
	for line := range strings.SplitSeq(string(ops), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[githubAnchor(strings.TrimLeft(line, "# "))] = true
		}
	}
	am, err := os.ReadFile(filepath.Join(root, "deploy/alertmanager/alertmanager.yaml"))
	require.NoError(t, err)
	alerts := 0
	for _, r := range rules(t) {
		if r.Alert == "" {
			continue
		}
		alerts++
		severity := r.Labels["severity"]
		require.True(t, slices.Contains([]string{"page", "ticket", "warning"}, severity), "%s: severity %q", r.Alert, severity)
		require.Contains(t, string(am), `severity="`+severity+`"`, "%s: the Alertmanager example routes %s", r.Alert, severity)
		require.NotEmpty(t, r.Annotations["summary"], r.Alert)
		link := r.Annotations["runbook_url"]
		const prefix = "https://github.com/lattice-platform/lattice/blob/main/docs/operations.md#"
		require.True(t, strings.HasPrefix(link, prefix), "%s: runbook %q", r.Alert, link)
		require.True(t, anchors[strings.TrimPrefix(link, prefix)], "%s: docs/operations.md has no section #%s", r.Alert, strings.TrimPrefix(link, prefix))
	}
	require.GreaterOrEqual(t, alerts, 10)
}

// githubAnchor is the fragment GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}
