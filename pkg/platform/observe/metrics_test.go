package observe_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/observe"
)

// TestReadinessChangesAreCountedAtTheProbe: the gauge holds the last
// answer; the counter counts every change, however close together.
func TestReadinessChangesAreCountedAtTheProbe(t *testing.T) {
	m := observe.NewMetrics("test")
	value := func(name string) float64 {
		families, err := m.Registry.Gather()
		require.NoError(t, err)
		for _, f := range families {
			if f.GetName() == name {
				require.Len(t, f.GetMetric(), 1)
				if g := f.GetMetric()[0].GetGauge(); g != nil {
					return g.GetValue()
				}
				return f.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatalf("%s is not exported", name)
		return 0
	}
	require.True(t, math.IsNaN(value("lattice_ready")), "not probed yet: neither ready nor not")
	m.ReportReadiness(true)
	m.ReportReadiness(true)
	require.Equal(t, 1.0, value("lattice_ready"))
	require.Zero(t, value("lattice_readiness_changes_total"), "the first answer is not a change")
	m.ReportReadiness(false)
	m.ReportReadiness(true)
	m.ReportReadiness(false)
	require.Zero(t, value("lattice_ready"))
	require.Equal(t, 3.0, value("lattice_readiness_changes_total"))
}

// TestCatalogNamesFamiliesWithoutSeries: a labelled family with no series
// yet is absent from /metrics but present in the catalog.
func TestCatalogNamesFamiliesWithoutSeries(t *testing.T) {
	m := observe.NewMetrics("test")
	families, err := m.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		require.NotEqual(t, "lattice_http_requests_total", f.GetName(), "no request yet, no series")
	}
	catalog := m.Catalog()
	require.Contains(t, catalog, "lattice_http_requests_total")
	require.Contains(t, catalog, "lattice_http_request_duration_seconds")
	require.Contains(t, catalog, "go_goroutines")
	require.IsNonDecreasing(t, catalog)
}
