package authstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore/internal/authdb"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// LoginThrottle is the PostgreSQL app.LoginThrottle. One upsert per
// failure keeps the count exact under concurrent logins.
type LoginThrottle struct{ q *authdb.Queries }

var _ app.LoginThrottle = (*LoginThrottle)(nil)

// NewLoginThrottle returns a throttle on pool.
func NewLoginThrottle(pool *pgxpool.Pool) *LoginThrottle { return &LoginThrottle{q: authdb.New(pool)} }

// Failures reads the counts of keys in one query.
func (l *LoginThrottle) Failures(ctx context.Context, keys ...string) ([]domain.FailureCount, error) {
	rows, err := queries(ctx, l.q).ThrottleCounts(ctx, keys)
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.FailureCount, len(keys))
	for _, row := range rows {
		for i, k := range keys {
			if k == row.Key {
				out[i] = domain.FailureCount{Failures: int(row.Failures), Last: row.LastFailure.UTC()}
			}
		}
	}
	return out, nil
}

// Fail counts one failure.
func (l *LoginThrottle) Fail(ctx context.Context, key string, window time.Duration, now time.Time) (domain.FailureCount, error) {
	row, err := queries(ctx, l.q).RecordLoginFailure(ctx, authdb.RecordLoginFailureParams{
		Key: key, Now: now, WindowFloor: now.Add(-window),
	})
	if err != nil {
		return domain.FailureCount{}, postgres.Translate(err)
	}
	return domain.FailureCount{Failures: int(row.Failures), Last: row.LastFailure.UTC()}, nil
}

// Reset forgets key.
func (l *LoginThrottle) Reset(ctx context.Context, key string) error {
	return postgres.Translate(queries(ctx, l.q).ClearThrottle(ctx, key))
}

// Purge deletes the counts whose latest failure is before before, which
// attackers trying random emails would otherwise pile up.
func (l *LoginThrottle) Purge(ctx context.Context, before time.Time) (int64, error) {
	n, err := queries(ctx, l.q).PurgeThrottle(ctx, before)
	return n, postgres.Translate(err)
}
