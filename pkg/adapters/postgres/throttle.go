package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres/internal/authdb"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// LoginThrottle is the PostgreSQL ports.LoginThrottle. One upsert per
// failure keeps the count exact under concurrent logins.
type LoginThrottle struct{ q *authdb.Queries }

var _ ports.LoginThrottle = (*LoginThrottle)(nil)

// NewLoginThrottle returns a throttle on pool.
func NewLoginThrottle(pool *pgxpool.Pool) *LoginThrottle { return &LoginThrottle{q: authdb.New(pool)} }

// LockedUntil returns the end of key's lockout, or zero.
func (l *LoginThrottle) LockedUntil(ctx context.Context, key string, now time.Time) (time.Time, error) {
	row, err := queries(ctx, l.q).ThrottleState(ctx, key)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil // never failed
	}
	if err != nil {
		return time.Time{}, translate(err, nil)
	}
	if row.LockedUntil != nil && row.LockedUntil.After(now) {
		return row.LockedUntil.UTC(), nil
	}
	return time.Time{}, nil
}

// Fail counts one failure and returns the lockout it caused, if any.
func (l *LoginThrottle) Fail(ctx context.Context, key string, p domain.ThrottlePolicy, now time.Time) (time.Time, error) {
	row, err := queries(ctx, l.q).RecordLoginFailure(ctx, authdb.RecordLoginFailureParams{
		Key: key, Now: now, MaxFailures: int32(p.MaxFailures),
		LockUntil: now.Add(p.Lockout), WindowFloor: now.Add(-p.Window),
	})
	if err != nil {
		return time.Time{}, translate(err, nil)
	}
	if int(row.Failures) >= p.MaxFailures && row.LockedUntil != nil {
		return row.LockedUntil.UTC(), nil
	}
	return time.Time{}, nil
}

// Reset forgets key.
func (l *LoginThrottle) Reset(ctx context.Context, key string) error {
	return translate(queries(ctx, l.q).ClearThrottle(ctx, key), nil)
}
