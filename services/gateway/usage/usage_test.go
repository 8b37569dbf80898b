package usage_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/gateway/usage"
)

type bus struct {
	mu      sync.Mutex
	batches [][]ports.Event
}

func (b *bus) PublishBatch(_ context.Context, evs []ports.Event) []error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batches = append(b.batches, evs)
	return make([]error, len(evs))
}

func (b *bus) total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, batch := range b.batches {
		n += len(batch)
	}
	return n
}

func record(i int) schema.UsageRecord {
	return schema.UsageRecord{Route: "/v1/resources", Method: "GET", Path: "/v1/resources", Status: 200, RequestId: "r" + string(rune('a'+i%26)), Time: time.Now()}
}

func TestRecordsArePublishedInBatches(t *testing.T) {
	t.Parallel()
	b := &bus{}
	rec := usage.New(b, 100, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	rec.BatchSize, rec.FlushEvery = 10, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rec.Run(ctx) }()
	for i := range 25 {
		rec.Record(record(i))
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.total() < 20 {
		require.True(t, time.Now().Before(deadline))
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	require.Equal(t, 25, b.total(), "the rest is flushed on shutdown")
	var env struct {
		Type    string
		Data    schema.UsageRecord
		Subject string
	}
	require.NoError(t, json.Unmarshal(b.batches[0][0].Payload, &env))
	require.Equal(t, "gateway.request", env.Type)
	require.Equal(t, "usage.gateway", b.batches[0][0].Subject)
	require.Equal(t, "/v1/resources", env.Data.Route)
}

func TestAFullBufferDropsAndCounts(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	rec := usage.New(&bus{}, 3, reg, slog.New(slog.DiscardHandler)) // not running: nothing drains
	for i := range 10 {
		rec.Record(record(i)) // never blocks
	}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "lattice_gateway_usage_dropped_total" {
			found = true
			require.EqualValues(t, 7, mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	require.True(t, found)
}
