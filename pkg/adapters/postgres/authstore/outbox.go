package authstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore/internal/authdb"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// Outbox is the auth database's transactional outbox: events added within
// a Transactor's transaction commit with the change; the relay reads what
// is unsent.
type Outbox struct {
	q   *authdb.Queries
	now func() time.Time
}

var (
	_ ports.EventOutbox   = (*Outbox)(nil)
	_ ports.OutboxStore   = (*Outbox)(nil)
	_ ports.OutboxBacklog = (*Outbox)(nil)
)

// NewOutbox returns the outbox on pool (migrated with schema.Auth).
func NewOutbox(pool *pgxpool.Pool) *Outbox { return &Outbox{q: authdb.New(pool), now: time.Now} }

// Add stores events, in the context's transaction if there is one.
func (o *Outbox) Add(ctx context.Context, events ...ports.Event) error {
	q := queries(ctx, o.q)
	now := o.now().UTC()
	traceParent, traceState := observe.TraceContext(ctx)
	for _, e := range events {
		id, err := uuid.Parse(e.ID)
		if err != nil {
			return err
		}
		e = ports.WithTrace(e, traceParent, traceState)
		if err := q.InsertOutbox(ctx, authdb.InsertOutboxParams{EventID: id, Subject: e.Subject, Payload: e.Payload, CreatedAt: now,
			TraceParent: e.TraceParent, TraceState: e.TraceState}); err != nil {
			return postgres.Translate(err)
		}
	}
	return nil
}

// Pending returns unsent events, oldest first.
func (o *Outbox) Pending(ctx context.Context, limit int) ([]ports.OutboxEntry, error) {
	rows, err := o.q.PendingOutbox(ctx, int32(limit))
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]ports.OutboxEntry, len(rows))
	for i, r := range rows {
		out[i] = ports.OutboxEntry{Seq: r.Seq, Event: ports.Event{ID: r.EventID.String(), Subject: r.Subject, Payload: r.Payload,
			TraceParent: r.TraceParent, TraceState: r.TraceState}}
	}
	return out, nil
}

// Backlog counts the unsent events and dates the oldest.
func (o *Outbox) Backlog(ctx context.Context) (int, time.Time, error) {
	row, err := o.q.OutboxBacklog(ctx)
	if err != nil {
		return 0, time.Time{}, postgres.Translate(err)
	}
	if row.Pending == 0 {
		return 0, time.Time{}, nil
	}
	return int(row.Pending), row.Oldest.UTC(), nil
}

// MarkSent records that entries were published.
func (o *Outbox) MarkSent(ctx context.Context, seqs []int64, at time.Time) error {
	at = at.UTC()
	return postgres.Translate(o.q.MarkOutboxSent(ctx, authdb.MarkOutboxSentParams{SentAt: &at, Seqs: seqs}))
}

// DeleteSent deletes events published before cutoff.
func (o *Outbox) DeleteSent(ctx context.Context, cutoff time.Time) (int64, error) {
	cutoff = cutoff.UTC()
	n, err := o.q.DeleteSentOutbox(ctx, &cutoff)
	return n, postgres.Translate(err)
}
