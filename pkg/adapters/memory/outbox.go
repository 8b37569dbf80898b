package memory

import (
	"context"
	"sync"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Transactor is a ports.Transactor for the in-memory stores, which have no
// transactions: it runs fn as it is. Tests that need atomicity use the
// real stores.
type Transactor struct{}

// InTx calls fn.
func (Transactor) InTx(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }

// Outbox is an in-memory ports.EventOutbox that keeps what was added.
type Outbox struct {
	mu     sync.Mutex
	events []ports.Event
}

// NewOutbox returns an empty outbox.
func NewOutbox() *Outbox { return &Outbox{} }

// Add keeps events.
func (o *Outbox) Add(_ context.Context, events ...ports.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, events...)
	return nil
}

// Events returns a copy of what was added, in order.
func (o *Outbox) Events() []ports.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]ports.Event(nil), o.events...)
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
