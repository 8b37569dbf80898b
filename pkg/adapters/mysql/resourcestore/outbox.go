package resourcestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/resourcestore/internal/resourcedb"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// OutboxStore is the resource service's outbox: the MySQL-protocol
// ports.EventOutbox its use cases add events to, in their unit of work, and
// the ports.OutboxStore the relay publishes from.
type OutboxStore struct {
	db *sql.DB
	q  *resourcedb.Queries
}

var (
	_ ports.OutboxStore   = (*OutboxStore)(nil)
	_ ports.OutboxBacklog = (*OutboxStore)(nil)
	_ ports.EventOutbox   = (*OutboxStore)(nil)
)

// NewOutboxStore returns a store on db.
func NewOutboxStore(db *sql.DB) *OutboxStore { return &OutboxStore{db: db, q: resourcedb.New(db)} }

// Add stores events, in the context's transaction when it carries one.
func (s *OutboxStore) Add(ctx context.Context, events ...ports.Event) error {
	if len(events) == 0 {
		return nil
	}
	now := time.Now().UTC()
	traceParent, traceState := observe.TraceContext(ctx)
	return mysql.Write(ctx, s.db, func(tx *sql.Tx) error {
		if len(events) == 1 {
			e := ports.WithTrace(events[0], traceParent, traceState)
			return mysql.Translate(s.q.WithTx(tx).InsertOutbox(ctx, resourcedb.InsertOutboxParams{EventID: e.ID, Subject: e.Subject, Payload: e.Payload,
				CreatedAt: now, TraceParent: e.TraceParent, TraceState: e.TraceState}))
		}
		// A change's few events, or an import batch's thousands: one
		// statement either way.
		rows := make([][]any, len(events))
		for i, e := range events {
			e = ports.WithTrace(e, traceParent, traceState)
			rows[i] = []any{e.ID, e.Subject, e.Payload, now, e.TraceParent, e.TraceState}
		}
		return mysql.InsertRows(ctx, tx, "outbox", []string{"event_id", "subject", "payload", "created_at", "trace_parent", "trace_state"}, rows)
	})
}

// Pending returns up to limit unsent events, oldest first.
func (s *OutboxStore) Pending(ctx context.Context, limit int) ([]ports.OutboxEntry, error) {
	rows, err := s.q.PendingOutbox(ctx, int32(limit))
	if err != nil {
		return nil, mysql.Translate(err)
	}
	out := make([]ports.OutboxEntry, len(rows))
	for i, r := range rows {
		out[i] = ports.OutboxEntry{Seq: r.Seq, Event: ports.Event{ID: r.EventID, Subject: r.Subject, Payload: r.Payload,
			TraceParent: r.TraceParent, TraceState: r.TraceState}}
	}
	return out, nil
}

// Backlog counts the unsent events and dates the oldest.
func (s *OutboxStore) Backlog(ctx context.Context) (int, time.Time, error) {
	row, err := s.q.OutboxBacklog(ctx)
	if err != nil {
		return 0, time.Time{}, mysql.Translate(err)
	}
	oldest, _ := row.Oldest.(time.Time) // NULL when nothing waits
	return int(row.Pending), oldest.UTC(), nil
}

// MarkSent records the entries as published.
func (s *OutboxStore) MarkSent(ctx context.Context, seqs []int64, at time.Time) error {
	if len(seqs) == 0 {
		return nil
	}
	return mysql.Translate(s.q.MarkOutboxSent(ctx, resourcedb.MarkOutboxSentParams{SentAt: sql.NullTime{Time: at, Valid: true}, Seqs: seqs}))
}

// DeleteSent removes published rows older than before, in batches.
func (s *OutboxStore) DeleteSent(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.DeleteSentOutbox(ctx, sql.NullTime{Time: before, Valid: true})
	return n, mysql.Translate(err)
}
