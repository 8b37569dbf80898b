package analyticsstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/analyticsstore/internal/analyticsdb"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// AuditLog is the PostgreSQL app.AuditLog. Appends hold a transaction-
// scoped advisory lock, so writers on any replica extend the chain one at
// a time and every entry follows the head it was hashed against.
type AuditLog struct {
	pool *pgxpool.Pool
	q    *analyticsdb.Queries
}

var (
	_ app.AuditLog      = (*AuditLog)(nil)
	_ app.AuditKeyStore = (*AuditLog)(nil)
)

// NewAuditLog returns the log over pool (migrated with schema.Analytics).
func NewAuditLog(pool *pgxpool.Pool) *AuditLog {
	return &AuditLog{pool: pool, q: analyticsdb.New(pool)}
}

func head(ctx context.Context, q *analyticsdb.Queries) (domain.AuditEntry, error) {
	row, err := q.AuditHead(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.AuditEntry{}, nil
	}
	if err != nil {
		return domain.AuditEntry{}, postgres.Translate(err)
	}
	return domain.AuditEntry{Seq: row.Seq, Canonical: row.Canonical, Hash: hashOf(row.Hash)}, nil
}

// Append chains the events to the head.
func (l *AuditLog) Append(ctx context.Context, events []domain.AuditEvent) (int, domain.AuditEntry, error) {
	n := 0
	var last domain.AuditEntry
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		q := l.q.WithTx(tx)
		if err := q.LockAuditLog(ctx); err != nil {
			return err
		}
		var err error
		if last, err = head(ctx, q); err != nil {
			return err
		}
		for _, e := range events {
			exists, err := q.AuditEventExists(ctx, e.ID)
			if err != nil {
				return err
			}
			if exists {
				continue
			}
			last = domain.Append(last, e.Canonical)
			if err := q.InsertAuditEntry(ctx, analyticsdb.InsertAuditEntryParams{Seq: last.Seq, EventID: e.ID,
				OccurredAt: e.Time.UTC(), Actor: e.Actor, Action: e.Action, Target: e.Target,
				Canonical: e.Canonical, Hash: last.Hash[:]}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, last, postgres.Translate(err)
}

// Head is the last entry.
func (l *AuditLog) Head(ctx context.Context) (domain.AuditEntry, error) { return head(ctx, l.q) }

// Entries returns a range as stored.
func (l *AuditLog) Entries(ctx context.Context, from, to int64) (domain.Hash, []domain.AuditEntry, error) {
	prev := domain.Genesis
	if from > 1 {
		h, err := l.q.AuditHashAt(ctx, from-1)
		if err != nil {
			return prev, nil, postgres.Lookup(err, fault.New(fault.NotFound, "the entry before the range is missing"))
		}
		prev = hashOf(h)
	}
	rows, err := l.q.AuditEntries(ctx, analyticsdb.AuditEntriesParams{Seq: from, Seq_2: to})
	if err != nil {
		return prev, nil, postgres.Translate(err)
	}
	out := make([]domain.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = domain.AuditEntry{Seq: r.Seq, Canonical: r.Canonical, Hash: hashOf(r.Hash)}
	}
	return prev, out, nil
}

// AddCheckpoint stores a checkpoint.
func (l *AuditLog) AddCheckpoint(ctx context.Context, c domain.Checkpoint) error {
	return postgres.Translate(l.q.InsertCheckpoint(ctx, analyticsdb.InsertCheckpointParams{Seq: c.Seq, Hash: c.Hash[:],
		SignedAt: c.At.UTC(), KeyID: c.KeyID, Signature: c.Signature}))

}

// Checkpoints returns the checkpoints in a range.
func (l *AuditLog) Checkpoints(ctx context.Context, from, to int64) ([]domain.Checkpoint, error) {
	rows, err := l.q.Checkpoints(ctx, analyticsdb.CheckpointsParams{Seq: from, Seq_2: to})
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.Checkpoint, len(rows))
	for i, r := range rows {
		out[i] = domain.Checkpoint{Seq: r.Seq, Hash: hashOf(r.Hash), At: r.SignedAt.UTC(), KeyID: r.KeyID, Signature: r.Signature}
	}
	return out, nil
}

// farFuture stands in for "no end" in range filters.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// List pages through matching records.
func (l *AuditLog) List(ctx context.Context, f app.AuditFilter, after int64, limit int) ([]domain.AuditRecord, error) {
	until := f.Until
	if until.IsZero() {
		until = farFuture
	}
	rows, err := l.q.ListAudit(ctx, analyticsdb.ListAuditParams{AfterSeq: after, Actor: f.Actor, Action: f.Action, Target: f.Target,
		Since: f.Since.UTC(), Until: until.UTC(), MaxRows: int32(limit)})
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.AuditRecord, len(rows))
	for i, r := range rows {
		out[i] = domain.AuditRecord{Seq: r.Seq, AuditEvent: domain.AuditEvent{ID: r.EventID, Time: r.OccurredAt.UTC(),
			Actor: r.Actor, Action: r.Action, Target: r.Target, Canonical: r.Canonical}}
	}
	return out, nil
}

// hashOf reads a stored hash. A value of the wrong length (only tampering
// makes one) becomes a hash nothing matches, so verification reports it
// instead of the process panicking.
func hashOf(b []byte) domain.Hash {
	var h domain.Hash
	if len(b) == len(h) {
		copy(h[:], b)
	} else {
		h[0] = 0xff
	}
	return h
}

// AuditKeys returns the checkpoint keys, oldest first.
func (l *AuditLog) AuditKeys(ctx context.Context) ([]domain.AuditKey, error) {
	rows, err := l.q.SigningKeys(ctx)
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.AuditKey, len(rows))
	for i, r := range rows {
		out[i] = domain.AuditKey{ID: r.KeyID, Public: r.PublicKey, Private: r.PrivateKey}
	}
	return out, nil
}

// AddAuditKey stores a checkpoint key.
func (l *AuditLog) AddAuditKey(ctx context.Context, k domain.AuditKey) error {
	return postgres.Translate(l.q.InsertSigningKey(ctx, analyticsdb.InsertSigningKeyParams{KeyID: k.ID, PublicKey: k.Public, PrivateKey: k.Private}))
}
