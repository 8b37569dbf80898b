package resourcestore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/resourcestore/internal/resourcedb"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// IdempotencyStore is the MySQL-protocol app.IdempotencyStore.
type IdempotencyStore struct{ q *resourcedb.Queries }

var _ app.IdempotencyStore = (*IdempotencyStore)(nil)

// NewIdempotencyStore returns a store on db.
func NewIdempotencyStore(db *sql.DB) *IdempotencyStore {
	return &IdempotencyStore{q: resourcedb.New(db)}
}

// Lookup returns the live record for (caller, key).
func (s *IdempotencyStore) Lookup(ctx context.Context, caller, key string, now time.Time) (domain.IdempotencyRecord, bool, error) {
	row, err := s.q.IdempotencyRecord(ctx, resourcedb.IdempotencyRecordParams{CallerID: caller, IdemKey: key, ExpiresAt: now})
	if errors.Is(err, sql.ErrNoRows) {
		return domain.IdempotencyRecord{}, false, nil
	}
	if err != nil {
		return domain.IdempotencyRecord{}, false, mysql.Translate(err)
	}
	return domain.IdempotencyRecord{
		Caller: row.CallerID, Key: row.IdemKey, RequestHash: row.RequestHash, Status: int(row.Status),
		Response: row.ResponseBody, ResourceID: row.ResourceID, CreatedAt: row.CreatedAt.UTC(), ExpiresAt: row.ExpiresAt.UTC(),
	}, true, nil
}

// saveIdempotency stores rec inside the create's transaction: an expired
// record for the key is replaced; a live one (or a concurrent insert of the
// same key, caught by the primary key) aborts the create.
func saveIdempotency(ctx context.Context, q *resourcedb.Queries, rec domain.IdempotencyRecord) error {
	_, err := q.IdempotencyRecord(ctx, resourcedb.IdempotencyRecordParams{CallerID: rec.Caller, IdemKey: rec.Key, ExpiresAt: rec.CreatedAt})
	switch {
	case err == nil:
		return domain.ErrIdempotencyKeyUsed
	case !errors.Is(err, sql.ErrNoRows):
		return mysql.Translate(err)
	}
	if err := q.DeleteExpiredIdempotencyRecord(ctx, resourcedb.DeleteExpiredIdempotencyRecordParams{CallerID: rec.Caller, IdemKey: rec.Key, ExpiresAt: rec.CreatedAt}); err != nil {
		return mysql.Translate(err)
	}
	err = q.InsertIdempotencyRecord(ctx, resourcedb.InsertIdempotencyRecordParams{
		CallerID: rec.Caller, IdemKey: rec.Key, RequestHash: rec.RequestHash, Status: int32(rec.Status),
		ResponseBody: rec.Response, ResourceID: rec.ResourceID, CreatedAt: rec.CreatedAt, ExpiresAt: rec.ExpiresAt,
	})
	if fault.Of(mysql.Translate(err), fault.Conflict) {
		return domain.ErrIdempotencyKeyUsed
	}
	return mysql.Translate(err)
}

// DeleteExpired removes up to a batch of expired records.
func (s *IdempotencyStore) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.q.DeleteExpiredIdempotency(ctx, now)
	return n, mysql.Translate(err)
}
