package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/outbox"
)

// backlog is a fixed OutboxBacklog.
type backlog struct {
	n      int
	oldest time.Time
	err    error
	hang   bool // wait for the caller's deadline, as a stuck database does
}

func (b backlog) Backlog(ctx context.Context) (int, time.Time, error) {
	if b.hang {
		<-ctx.Done()
		return 0, time.Time{}, ctx.Err()
	}
	return b.n, b.oldest, b.err
}

func TestBacklogMetrics(t *testing.T) {
	m := outbox.NewBacklogMetrics("resource", backlog{n: 3, oldest: time.Now().Add(-90 * time.Second)}, slog.New(slog.DiscardHandler))
	require.Equal(t, 2, testutil.CollectAndCount(m))
	require.NoError(t, testutil.CollectAndCompare(m, strings.NewReader(`
# HELP lattice_outbox_pending Events in the outbox not yet published.
# TYPE lattice_outbox_pending gauge
lattice_outbox_pending{service="resource"} 3
`), "lattice_outbox_pending"))
	require.InDelta(t, 90, gauge(t, m, "lattice_outbox_oldest_age_seconds"), 5, "the oldest event's wait")

	empty := outbox.NewBacklogMetrics("auth", backlog{}, slog.New(slog.DiscardHandler))
	require.Zero(t, gauge(t, empty, "lattice_outbox_oldest_age_seconds"), "nothing waits: no age")

	down := outbox.NewBacklogMetrics("auth", backlog{err: errors.New("database away")}, slog.New(slog.DiscardHandler))
	require.Zero(t, testutil.CollectAndCount(down), "a store that does not answer reports nothing, not zeros")

	stuck := outbox.NewBacklogMetrics("auth", backlog{hang: true}, slog.New(slog.DiscardHandler))
	start := time.Now()
	require.Zero(t, testutil.CollectAndCount(stuck), "a stuck store reports nothing")
	require.Less(t, time.Since(start), 10*time.Second, "and holds the scrape no longer than its bound")
}

// gauge is the value of the collector's gauge called name.
func gauge(t *testing.T, c prometheus.Collector, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
