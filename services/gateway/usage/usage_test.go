package usage_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
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

// total counts the records in every message published.
func (b *bus) total(t *testing.T) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, batch := range b.batches {
		for _, e := range batch {
			n += len(decode(t, e).Data.Records)
		}
	}
	return n
}

type envelope struct {
	Type string
	Data schema.UsageBatch
}

func decode(t *testing.T, e ports.Event) envelope {
	var env envelope
	require.NoError(t, json.Unmarshal(e.Payload, &env))
	return env
}

func record(i int) schema.UsageRecord {
	return schema.UsageRecord{Route: "/v1/resources", Method: "GET", Path: "/v1/resources", Status: 200, RequestId: "r" + string(rune('a'+i%26)), Time: time.Now()}
}

// running starts a recorder publishing to b with the given buffer, batch
// size and ticker; stop ends Run and waits for its last flush.
func running(b *bus, size, batchSize int, every time.Duration) (rec *usage.Recorder, stop func()) {
	rec = usage.New(b, size, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	rec.BatchSize, rec.FlushEvery = batchSize, every
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rec.Run(ctx) }()
	return rec, func() { cancel(); <-done }
}

func TestRecordsArePublishedInBatches(t *testing.T) {
	t.Parallel()
	b := &bus{}
	rec, stop := running(b, 100, 10, time.Hour)
	for i := range 25 {
		rec.Record(record(i))
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.total(t) < 20 {
		require.True(t, time.Now().Before(deadline))
		time.Sleep(time.Millisecond)
	}
	stop()
	require.Equal(t, 25, b.total(t), "the rest is flushed on shutdown")
	first := b.batches[0]
	require.Len(t, first, 1, "a batch of ten is one message")
	env := decode(t, first[0])
	require.Equal(t, "gateway.requests", env.Type)
	require.Equal(t, "usage.gateway", first[0].Subject)
	require.Len(t, env.Data.Records, 10)
	require.Equal(t, "/v1/resources", env.Data.Records[0].Route)
}

// TestABatchSplitBetweenTakenAndNewRecordsLeaves: Run finds 18 records
// when it starts, sends ten, and the eight left over plus seven more make a
// second whole batch, which leaves without waiting for the ticker. (The
// eight were once held apart from the buffer, and nothing woke Run.)
func TestABatchSplitBetweenTakenAndNewRecordsLeaves(t *testing.T) {
	t.Parallel()
	b := &bus{}
	rec := usage.New(b, 100, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	rec.BatchSize, rec.FlushEvery = 10, time.Hour
	for i := range 18 { // the tenth queues a wake-up Run finds at start
		rec.Record(record(i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rec.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for b.total(t) < 10 {
		require.True(t, time.Now().Before(deadline), "the first batch was never sent")
		time.Sleep(time.Millisecond)
	}
	for i := 18; i < 25; i++ {
		rec.Record(record(i))
	}
	for b.total(t) < 20 {
		require.True(t, time.Now().Before(deadline), "the second whole batch waited for the ticker")
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, 20, b.total(t), "the five short of a batch wait")
}

// TestMessagesAreBounded: a message holds at most 100 records and about
// 64 KiB, so a batch of 250 short records is three messages and one of
// records with long paths is split by size; none is lost.
func TestMessagesAreBounded(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		path     string
		messages int
	}{"short": {"/v1/resources", 3}, "long paths": {"/v1/resources/" + strings.Repeat("p", 4000), 17}} {
		b := &bus{}
		rec, stop := running(b, 1000, 250, time.Hour)
		for i := range 250 {
			r := record(i)
			r.Path = c.path
			rec.Record(r)
		}
		deadline := time.Now().Add(5 * time.Second)
		for b.total(t) < 250 {
			require.True(t, time.Now().Before(deadline), name)
			time.Sleep(time.Millisecond)
		}
		stop()
		require.Len(t, b.batches, 1, name)
		require.Len(t, b.batches[0], c.messages, name)
		for _, e := range b.batches[0] {
			require.LessOrEqual(t, len(decode(t, e).Data.Records), usage.MaxRecordsPerMessage, name)
			require.LessOrEqual(t, len(e.Payload), 80<<10, name)
		}
	}
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

// TestAPartBatchWaitsForTheTicker: records short of a batch are sent by the
// ticker, not held until the batch fills or the gateway stops.
func TestAPartBatchWaitsForTheTicker(t *testing.T) {
	t.Parallel()
	b := &bus{}
	rec, stop := running(b, 100, 10, 20*time.Millisecond)
	defer stop()
	for i := range 5 {
		rec.Record(record(i))
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.total(t) < 5 {
		require.True(t, time.Now().Before(deadline), "five records were never sent")
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, 5, b.total(t))
}

// TestRecordsKeepTheirOrderAcrossBatches: full batches leave as they fill,
// the rest at shutdown, and every record is published once, in the order
// recorded.
func TestRecordsKeepTheirOrderAcrossBatches(t *testing.T) {
	t.Parallel()
	b := &bus{}
	rec, stop := running(b, 1000, 10, time.Hour)
	for i := range 95 {
		r := record(i)
		r.RequestId = strconv.Itoa(i)
		rec.Record(r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.total(t) < 90 {
		require.True(t, time.Now().Before(deadline), "full batches were not published before shutdown")
		time.Sleep(time.Millisecond)
	}
	stop()
	var ids []string
	b.mu.Lock()
	for _, batch := range b.batches {
		for _, e := range batch {
			records := decode(t, e).Data.Records
			require.LessOrEqual(t, len(records), 10, "a message holds at most one batch")
			for _, r := range records {
				ids = append(ids, r.RequestId)
			}
		}
	}
	b.mu.Unlock()
	want := make([]string, 95)
	for i := range want {
		want[i] = strconv.Itoa(i)
	}
	require.Equal(t, want, ids)
}
