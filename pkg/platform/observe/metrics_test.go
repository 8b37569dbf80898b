package observe_test

import (
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

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

// TestMethodsOutsideTheStandardOnesShareOneSeries: a client may send any
// token as its method; each would be a new series kept for the process's
// life. The standard methods keep their names, every other one counts as
// OTHER, and the counts stay exact.
func TestMethodsOutsideTheStandardOnesShareOneSeries(t *testing.T) {
	m := observe.NewMetrics("test")
	for i := range 200 {
		m.Observe("/v1/things/*", fmt.Sprintf("M%03d", i), 200, time.Millisecond)
	}
	for range 3 {
		m.Observe("/v1/things/*", http.MethodGet, 200, time.Millisecond)
	}
	m.Observe("/v1/things/*", "get", 502, time.Millisecond) // methods are case-sensitive (RFC 9110, 9.1)
	m.Observe("/v1/things/*", http.MethodPatch, 0, time.Millisecond)

	got := map[string]float64{}
	families, err := m.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch f.GetName() {
			case "lattice_http_requests_total":
				got["requests "+labels["method"]+" "+labels["status"]] = s.GetCounter().GetValue()
			case "lattice_http_errors_total":
				got["errors "+labels["method"]] = s.GetCounter().GetValue()
			case "lattice_http_request_duration_seconds":
				got["latency "+labels["method"]] = float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	require.Equal(t, map[string]float64{
		"requests OTHER 200": 200, "requests OTHER 502": 1, "requests GET 200": 3, "requests PATCH 200": 1,
		"errors OTHER":  1,
		"latency OTHER": 201, "latency GET": 3, "latency PATCH": 1,
	}, got)
}

// BenchmarkObserve is the cost of counting one proxied request.
func BenchmarkObserve(b *testing.B) {
	m := observe.NewMetrics("bench")
	b.ReportAllocs()
	for b.Loop() {
		m.Observe("/v1/resources/*", http.MethodGet, 200, time.Millisecond)
	}
}
