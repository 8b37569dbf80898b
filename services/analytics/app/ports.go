package app

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// AuditFilter selects audit records; empty fields match everything.
type AuditFilter struct {
	Actor, Action, Target string
	Since, Until          time.Time // Until zero: no end
}

// AuditLog is the append-only, hash-chained audit log.
type AuditLog interface {
	// Append chains events to the head in order, one transaction for all;
	// an event whose id is already stored is skipped. It returns how many
	// were appended and the new head.
	Append(ctx context.Context, events []domain.AuditEvent) (int, domain.AuditEntry, error)
	// Head is the last entry (the zero entry for an empty log).
	Head(ctx context.Context) (domain.AuditEntry, error)
	// Entries returns entries from..to (inclusive) as stored, in seq order,
	// with the stored hash of the entry before from (Genesis for from 1).
	Entries(ctx context.Context, from, to int64) (prev domain.Hash, entries []domain.AuditEntry, err error)
	// AddCheckpoint stores a signed checkpoint (again for the same seq is a no-op).
	AddCheckpoint(ctx context.Context, c domain.Checkpoint) error
	// Checkpoints returns the checkpoints signed for seq from..to.
	Checkpoints(ctx context.Context, from, to int64) ([]domain.Checkpoint, error)
	// List pages through records matching f after seq `after`.
	List(ctx context.Context, f AuditFilter, after int64, limit int) ([]domain.AuditRecord, error)
}

// AuditKeyStore records the public keys that signed audit checkpoints, for
// operators to see. It is in the audited store, so verification never
// believes it: the trusted keys are pinned in configuration.
type AuditKeyStore interface {
	// AuditKeys returns every stored key, oldest first.
	AuditKeys(ctx context.Context) ([]domain.AuditKey, error)
	// AddAuditKey stores k; again for the same id is a no-op.
	AddAuditKey(ctx context.Context, k domain.AuditKey) error
}

// UsageStore keeps gateway usage: raw records for the retention period and
// per-minute roll-ups for reports.
type UsageStore interface {
	// Ingest stores the records not stored before (by request id) and adds
	// exactly those to their roll-ups (minute, hour and day), in one
	// transaction, so a redelivered
	// record is never counted twice. It returns how many were new.
	Ingest(ctx context.Context, records []domain.UsageRecord) (int, error)
	// Rollups returns the roll-ups of one step whose buckets start in
	// [since, until), of one identity when identity is not "".
	Rollups(ctx context.Context, step domain.Granularity, since, until time.Time, identity string) ([]domain.Rollup, error)
	// Series is Rollups merged into the points of a report: one per bucket
	// and group of g, keyed by g.Coarsen, ordered by bucket then key. What
	// reports read; a store may merge in the database.
	Series(ctx context.Context, step domain.Granularity, since, until time.Time, identity string, g domain.Grouping) ([]domain.Rollup, error)
	// TopResources ranks resources by successful reads on the days from
	// since to until (whole UTC days, both included), most read first.
	TopResources(ctx context.Context, since, until time.Time, limit int) ([]domain.ResourceReads, error)
	// ResourceReads counts one resource's successful reads on the days from
	// since to until (whole UTC days, both included).
	ResourceReads(ctx context.Context, resourceID string, since, until time.Time) (int64, error)
	// Raw returns the raw records in [since, until).
	Raw(ctx context.Context, since, until time.Time) ([]domain.UsageRecord, error)
	// Expire deletes raw records before rawCutoff and roll-ups (and read
	// counts) before rollupCutoff, returning how many of each went.
	Expire(ctx context.Context, rawCutoff, rollupCutoff time.Time) (raw, rollups int64, err error)
}

// CheckpointSink keeps every signed audit checkpoint outside the audited
// store, where whoever can write the analytics database cannot rewrite or
// delete it; verification cross-checks the chain against it.
type CheckpointSink interface {
	// Export stores cp; exporting the same checkpoint twice keeps one. It
	// returns a fault.Unavailable error when the sink cannot be reached.
	Export(ctx context.Context, cp domain.Checkpoint) error
	// Exported returns the checkpoints with from <= Seq <= to, in the
	// order they were exported.
	Exported(ctx context.Context, from, to int64) ([]domain.Checkpoint, error)
}
