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

func (b *flakyBus) publishes() int { b.mu.Lock(); defer b.mu.Unlock(); return b.calls }

func event(id string) ports.Event {
	return ports.Event{ID: id, Subject: "events.resource.created", Payload: []byte("{}")}
}

func seed(t *testing.T, store *portstest.Outbox, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		e := event(fmt.Sprintf("e-%04d", i))
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
	waitFor(t, func() bool { return bus.publishes() >= 3 })
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

// testClock is a relay's clock that moves only when the test moves it. A
// wait the relay starts is handed to the test (waits), which ends it
// (fire).
type testClock struct {
	mu    sync.Mutex
	t     time.Time
	waits chan time.Duration
	fire  chan time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), waits: make(chan time.Duration, 8), fire: make(chan time.Time)}
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func (c *testClock) after(d time.Duration) <-chan time.Time {
	c.waits <- d
	return c.fire
}

// nextWait is the next wait the relay starts.
func (c *testClock) nextWait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.waits:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("the relay started no wait within 10s")
		return 0
	}
}

// spacedRelay runs a relay on a test clock, with polls too far apart to
// matter, until the test ends; it returns once the relay's first
// (empty) round is over.
func spacedRelay(t *testing.T, batch int) (*outbox.Relay, *countingStore, *flakyBus, *testClock) {
	t.Helper()
	store := &countingStore{Outbox: portstest.NewOutbox()}
	bus := &flakyBus{stored: map[string]int{}}
	clock := newTestClock()
	r := outbox.New(store, bus, slog.New(slog.DiscardHandler))
	r.Batch, r.Poll, r.Spacing = batch, time.Hour, 10*time.Millisecond
	outbox.SetClock(r, clock.now, clock.after)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, func() bool { return store.reads.Load() == 1 })
	return r, store, bus, clock
}

func TestChangesNotifiedWithinTheSpacingGoInOneRound(t *testing.T) {
	t.Parallel()
	r, store, bus, clock := spacedRelay(t, 500)
	clock.advance(3 * time.Millisecond)

	require.NoError(t, store.Add(context.Background(), event("first")))
	r.Notify()
	require.Equal(t, 7*time.Millisecond, clock.nextWait(t), "the next round waits out what is left of the spacing")
	for i := range 4 { // committed and notified while it waits
		require.NoError(t, store.Add(context.Background(), event(fmt.Sprint("late-", i))))
		r.Notify()
	}
	require.EqualValues(t, 1, store.reads.Load(), "no round while it waits")
	clock.advance(7 * time.Millisecond)
	clock.fire <- clock.now()

	waitFor(t, func() bool { return bus.count() == 5 })
	require.Equal(t, 1, bus.publishes(), "the five events went in one round")

	// The notifications it answered leave no empty round behind: the
	// next wake waits for its spacing, with only two reads made.
	clock.advance(time.Millisecond)
	r.Notify()
	require.Equal(t, 9*time.Millisecond, clock.nextWait(t))
	require.EqualValues(t, 2, store.reads.Load())
}

func TestAChangeAfterAQuietSpellGoesAtOnce(t *testing.T) {
	t.Parallel()
	r, store, bus, clock := spacedRelay(t, 500)
	clock.advance(10 * time.Millisecond)
	seed(t, store.Outbox, 1)
	r.Notify()
	waitFor(t, func() bool { return bus.count() == 1 })
	require.Empty(t, clock.waits, "no wait: the spacing had passed")
}

func TestFullBatchesFollowEachOtherWithoutSpacing(t *testing.T) {
	t.Parallel()
	r, store, bus, clock := spacedRelay(t, 2)
	seed(t, store.Outbox, 5)
	r.Notify()
	require.Equal(t, 10*time.Millisecond, clock.nextWait(t))
	clock.advance(10 * time.Millisecond)
	clock.fire <- clock.now() // three rounds follow: 2, 2 and 1 events

	waitFor(t, func() bool { p, _ := store.Outbox.Pending(context.Background(), 1); return len(p) == 0 })
	require.Equal(t, 5, bus.count())
	require.EqualValues(t, 4, store.reads.Load())
	require.Empty(t, clock.waits, "the rounds after a full one did not wait")
}
