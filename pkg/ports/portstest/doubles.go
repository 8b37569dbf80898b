package portstest

import (
	"context"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// The test doubles of shared ports, for use-case and relay tests. A
// service's own ports have their fakes in services/<svc>/app/fake.

// Transactor is a ports.Transactor for in-memory stores, which have no
// transactions: it runs fn as it is. Tests that need atomicity use the
// real stores.
type Transactor struct{}

// InTx calls fn.
func (Transactor) InTx(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }

// Outbox is an in-memory ports.EventOutbox and ports.OutboxStore: what is
// added is pending until marked sent.
type Outbox struct {
	mu      sync.Mutex
	entries []ports.OutboxEntry
	sent    map[int64]time.Time
	seq     int64
}

var (
	_ ports.EventOutbox = (*Outbox)(nil)
	_ ports.OutboxStore = (*Outbox)(nil)
)

// NewOutbox returns an empty outbox.
func NewOutbox() *Outbox { return &Outbox{sent: map[int64]time.Time{}} }

// Add keeps events, numbering them in order.
func (o *Outbox) Add(_ context.Context, events ...ports.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range events {
		o.seq++
		o.entries = append(o.entries, ports.OutboxEntry{Seq: o.seq, Event: e})
	}
	return nil
}

// Events returns a copy of everything added, in order.
func (o *Outbox) Events() []ports.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]ports.Event, len(o.entries))
	for i, e := range o.entries {
		out[i] = e.Event
	}
	return out
}

// Pending returns up to limit unsent entries, oldest first.
func (o *Outbox) Pending(_ context.Context, limit int) ([]ports.OutboxEntry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []ports.OutboxEntry
	for _, e := range o.entries {
		if _, done := o.sent[e.Seq]; !done && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// MarkSent records entries as published at at.
func (o *Outbox) MarkSent(_ context.Context, seqs []int64, at time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range seqs {
		o.sent[s] = at
	}
	return nil
}

// DeleteSent forgets entries sent before before and returns how many.
// Sequence numbers are never reused.
func (o *Outbox) DeleteSent(_ context.Context, before time.Time) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var n int64
	kept := o.entries[:0]
	for _, e := range o.entries {
		if at, done := o.sent[e.Seq]; done && at.Before(before) {
			n++
			continue
		}
		kept = append(kept, e)
	}
	o.entries = kept
	return n, nil
}

// AuditTrail is an in-memory ports.AuditTrail that keeps what was recorded;
// Fail, when set, is returned instead (to test refusing unrecordable
// actions).
type AuditTrail struct {
	mu      sync.Mutex
	entries []ports.AuditEntry
	Fail    error
}

// Record keeps e.
func (a *AuditTrail) Record(_ context.Context, e ports.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.Fail != nil {
		return a.Fail
	}
	a.entries = append(a.entries, e)
	return nil
}

// Entries returns a copy of what was recorded, in order.
func (a *AuditTrail) Entries() []ports.AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]ports.AuditEntry(nil), a.entries...)
}
