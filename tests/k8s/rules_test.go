package k8s_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite deploy/k8s/base/prometheusrule.yaml from deploy/prometheus/rules")

const (
	ruleFiles      = "../../deploy/prometheus/rules"
	prometheusRule = "../../deploy/k8s/base/prometheusrule.yaml"
)

// ruleGroups are the groups of every rule file, in file-name order: what
// promtool checks and tests (make check-deploy).
func ruleGroups(t *testing.T) []any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(ruleFiles, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var groups []any
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc struct{ Groups []any }
		require.NoError(t, yaml.UnmarshalStrict(raw, &doc), f)
		groups = append(groups, doc.Groups...)
	}
	return groups
}

// TestThePrometheusRuleIsTheRuleFiles: the Prometheus Operator gets the
// same alerts as the rule files that promtool tests; the PrometheusRule is
// generated from them (go test ./tests/k8s -run PrometheusRule -update).
func TestThePrometheusRuleIsTheRuleFiles(t *testing.T) {
	groups := ruleGroups(t)
	if *update {
		body, err := yaml.Marshal(map[string]any{
			"apiVersion": "monitoring.coreos.com/v1",
			"kind":       "PrometheusRule",
			"metadata":   map[string]any{"name": "lattice", "labels": map[string]any{"app.kubernetes.io/part-of": "lattice"}},
			"spec":       map[string]any{"groups": groups},
		})
		require.NoError(t, err)
		header := "# Generated from deploy/prometheus/rules (the files promtool tests) by\n" +
			"#   go test ./tests/k8s -run PrometheusRule -update\n# Do not edit; edit the rule files.\n"
		require.NoError(t, os.WriteFile(prometheusRule, append([]byte(header), body...), 0o644))
	}
	raw, err := os.ReadFile(prometheusRule)
	require.NoError(t, err)
	var committed struct {
		Kind string
		Spec struct{ Groups []any }
	}
	require.NoError(t, yaml.Unmarshal(raw, &committed))
	require.Equal(t, "PrometheusRule", committed.Kind)
	require.Equal(t, groups, committed.Spec.Groups, "regenerate: go test ./tests/k8s -run PrometheusRule -update")

	r := render(t, "../../deploy/k8s/base")
	rules := r.customs("PrometheusRule")
	require.Len(t, rules, 1, "the base ships the PrometheusRule")
}
