package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/outbox"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
)

// flakyBus stores events by id and fails while down.
type flakyBus struct {
	mu     sync.Mutex
	down   bool
	stored map[string]int
	calls  int
}

func (b *flakyBus) PublishBatch(_ context.Context, events []ports.Event) []error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	errs := make([]error, len(events))
	for i, e := range events {
		if b.down {
			errs[i] = errors.New("broker down")
			continue
		}
		b.stored[e.ID]++
	}
	return errs
}

func (b *flakyBus) setDown(v bool) { b.mu.Lock(); b.down = v; b.mu.Unlock() }

func (b *flakyBus) count() int { b.mu.Lock(); defer b.mu.Unlock(); return len(b.stored) }

func seed(t *testing.T, store *portstest.Outbox, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		e := ports.Event{ID: fmt.Sprintf("e-%04d", i), Subject: "events.resource.created", Payload: []byte("{}")}
		require.NoError(t, store.Add(context.Background(), e))
		ids = append(ids, e.ID)
	}
	return ids
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRelayDeliversEverythingAcrossAnOutage(t *testing.T) {
	t.Parallel()
	store := portstest.NewOutbox()
	bus := &flakyBus{stored: map[string]int{}, down: true}
	r := outbox.New(store, bus, slog.New(slog.DiscardHandler))
	r.Batch, r.Poll, r.MaxBackoff = 7, 10*time.Millisecond, 20*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()

	ids := seed(t, store, 50)
	r.Notify()
	waitFor(t, func() bool { bus.mu.Lock(); defer bus.mu.Unlock(); return bus.calls >= 3 })
	require.Zero(t, bus.count(), "nothing is stored while the broker is down")
	pending, err := store.Pending(context.Background(), 100)
	require.NoError(t, err)
	require.Len(t, pending, 50, "and nothing is marked sent")

	bus.setDown(false)
	waitFor(t, func() bool { return bus.count() == 50 })
	for _, id := range ids {
		require.Equal(t, 1, bus.stored[id], id)
	}
	waitFor(t, func() bool { p, _ := store.Pending(context.Background(), 1); return len(p) == 0 })
	cancel()
	<-done
}

func TestNotifyWakesTheRelayBeforeItsPoll(t *testing.T) {
	t.Parallel()
	store := portstest.NewOutbox()
	bus := &flakyBus{stored: map[string]int{}}
	r := outbox.New(store, bus, slog.New(slog.DiscardHandler))
	r.Poll = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	seed(t, store, 3)
	r.Notify()
	waitFor(t, func() bool { return bus.count() == 3 })
}

// countingStore counts Pending calls, so a test can tell when the relay has
// finished its first round.
type countingStore struct {
	*portstest.Outbox
	reads atomic.Int32
}

func (c *countingStore) Pending(ctx context.Context, limit int) ([]ports.OutboxEntry, error) {
	c.reads.Add(1)
	return c.Outbox.Pending(ctx, limit)
}

func TestShutdownFlushesWhatIsPending(t *testing.T) {
	t.Parallel()
	store := &countingStore{Outbox: portstest.NewOutbox()}
	bus := &flakyBus{stored: map[string]int{}}
	r := outbox.New(store, bus, slog.New(slog.DiscardHandler))
	r.Poll = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	waitFor(t, func() bool { return store.reads.Load() >= 1 }) // the first (empty) round is over; next poll in an hour
	seed(t, store.Outbox, 4)                                   // written, but nobody woke the relay
	cancel()
	<-done
	require.Equal(t, 4, bus.count(), "the last round on shutdown published them")
}
