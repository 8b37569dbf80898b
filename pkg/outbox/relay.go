// Package outbox relays events from a service's transactional outbox to the
// event bus. A change and its events commit together; the relay publishes
// what is pending, marks it sent, and retries what failed, so a stopped
// broker delays events but never loses them. Several relays (one per
// replica) may run at once: an event published twice carries the same id,
// which the bus deduplicates. Under load, rounds are spaced (ADR 0058), so
// that one round carries the changes of several commits.
package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Relay moves events from an OutboxStore to an EventPublisher.
type Relay struct {
	store ports.OutboxStore
	pub   ports.EventPublisher
	log   *slog.Logger
	wake  chan struct{}
	// Batch is how many events one round reads and publishes (default 500).
	Batch int
	// Poll is how often the relay looks for events nobody told it about,
	// such as another replica's after it crashed (default 1s).
	Poll time.Duration
	// MaxBackoff caps the wait after a failed round (default 5s).
	MaxBackoff time.Duration
	// Spacing is the least time from one round's start to the next's,
	// unless the first round filled its batch (default 50ms). A relay
	// woken by every commit would otherwise make a round, three
	// statements and a commit of its own, for each change; spaced, the
	// changes committed meanwhile go in one round, and their consumers
	// receive them together. An event waits at most Spacing for it, and
	// one after a quiet spell not at all.
	Spacing time.Duration
	now     func() time.Time
	after   func(time.Duration) <-chan time.Time
}

// New returns a relay; call Run to start it.
func New(store ports.OutboxStore, pub ports.EventPublisher, log *slog.Logger) *Relay {
	return &Relay{store: store, pub: pub, log: log, wake: make(chan struct{}, 1),
		Batch: 500, Poll: time.Second, MaxBackoff: 5 * time.Second, Spacing: 50 * time.Millisecond, now: time.Now, after: time.After}
}

// Notify wakes the relay at once; services call it after committing a
// change with events. It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx ends, then makes one last round (bounded to five
// seconds) so a graceful shutdown leaves nothing behind that it could send.
func (r *Relay) Run(ctx context.Context) {
	defer r.flush(ctx)
	backoff := time.Duration(0)
	var last time.Time // the last round's start
	full := false      // whether it filled its batch
	for {
		if !full && !r.space(ctx, last) {
			return
		}
		last = r.now()
		n, err := r.Round(ctx)
		full = n == r.Batch && err == nil
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), r.MaxBackoff)
			wait = backoff
			r.log.WarnContext(ctx, "outbox relay round failed", "error", err, "retry_in", backoff.String())
		case full:
			backoff = 0
			continue // more may be waiting
		default:
			backoff = 0
			wait = r.Poll
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.wake:
			if err == nil {
				t.Stop()
				continue
			}
			<-t.C // after a failure, keep the backoff even when woken
		case <-t.C:
		}
	}
}

// space waits until Spacing has passed since last, and reports false if
// ctx ended meanwhile. A Notify that came before the round starts is
// answered by it, so it is taken: otherwise it would wake an empty round.
func (r *Relay) space(ctx context.Context, last time.Time) bool {
	if wait := last.Add(r.Spacing).Sub(r.now()); wait > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-r.after(wait):
		}
	}
	select {
	case <-r.wake:
	default:
	}
	return true
}

func (r *Relay) flush(ctx context.Context) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for {
		n, err := r.Round(fctx)
		if err != nil || n < r.Batch {
			return
		}
	}
}

// Round publishes one batch of pending events and returns how many it
// read. Events whose publication failed stay pending for the next round;
// the returned error reports that some did.
func (r *Relay) Round(ctx context.Context) (int, error) {
	pending, err := r.store.Pending(ctx, r.Batch)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	events := make([]ports.Event, len(pending))
	for i, p := range pending {
		events[i] = p.Event
	}
	errs := r.pub.PublishBatch(ctx, events)
	sent := make([]int64, 0, len(pending))
	var firstErr error
	for i, e := range errs {
		if e == nil {
			sent = append(sent, pending[i].Seq)
		} else if firstErr == nil {
			firstErr = e
		}
	}
	if err := r.store.MarkSent(ctx, sent, r.now()); err != nil {
		// Published but not marked: they will be published again with the
		// same ids, which the bus drops.
		return len(pending), err
	}
	return len(pending), firstErr
}
