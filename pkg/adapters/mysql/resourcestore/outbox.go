package resourcestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/resourcestore/internal/resourcedb"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// OutboxStore is the MySQL-protocol ports.OutboxStore.
type OutboxStore struct{ q *resourcedb.Queries }

var _ ports.OutboxStore = (*OutboxStore)(nil)

// NewOutboxStore returns a store on db.
func NewOutboxStore(db *sql.DB) *OutboxStore { return &OutboxStore{q: resourcedb.New(db)} }

// Pending returns up to limit unsent events, oldest first.
func (s *OutboxStore) Pending(ctx context.Context, limit int) ([]ports.OutboxEntry, error) {
	rows, err := s.q.PendingOutbox(ctx, int32(limit))
	if err != nil {
		return nil, mysql.Translate(err)
	}
	out := make([]ports.OutboxEntry, len(rows))
	for i, r := range rows {
		out[i] = ports.OutboxEntry{Seq: r.Seq, Event: ports.Event{ID: r.EventID, Subject: r.Subject, Payload: r.Payload}}
	}
	return out, nil
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
