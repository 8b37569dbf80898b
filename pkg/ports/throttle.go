package ports

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// LoginThrottle counts failed logins per key (an account, an address, or an
// account from one address). It only counts: domain.LoginThrottle decides
// what the counts mean.
type LoginThrottle interface {
	// Failures returns the counts of keys, in order; a key that never
	// failed, or was reset, has the zero count.
	Failures(ctx context.Context, keys ...string) ([]domain.FailureCount, error)
	// Fail records a failed attempt on key at now and returns the count
	// after it. A key whose latest failure is older than window starts over
	// at one. Concurrent calls for one key are counted exactly.
	Fail(ctx context.Context, key string, window time.Duration, now time.Time) (domain.FailureCount, error)
	// Reset forgets key's failures (after a successful login).
	Reset(ctx context.Context, key string) error
}
