package ports

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// LoginThrottle counts failed logins per key (an account or an address).
type LoginThrottle interface {
	// LockedUntil returns the end of key's lockout, or the zero time if key
	// is not locked at now.
	LockedUntil(ctx context.Context, key string, now time.Time) (time.Time, error)
	// Fail records a failed attempt under policy p and returns the end of the
	// lockout it caused, or the zero time if key is still below the limit.
	// Concurrent calls for one key are counted exactly.
	Fail(ctx context.Context, key string, p domain.ThrottlePolicy, now time.Time) (time.Time, error)
	// Reset forgets key's failures (after a successful login).
	Reset(ctx context.Context, key string) error
}
