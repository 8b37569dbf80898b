package ports

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// GrantStore keeps OAuth authorization codes and refresh tokens. Its
// spend operations are atomic, so two concurrent redemptions of one code or
// one refresh token can never both succeed.
type GrantStore interface {
	// SaveCode stores a new authorization code.
	SaveCode(ctx context.Context, c domain.AuthorizationCode) error
	// ConsumeCode spends the code with this hash and returns it. It returns
	// ErrCodeSpent if it was already spent and ErrGrantNotFound if it never
	// existed; expiry is the caller's check.
	ConsumeCode(ctx context.Context, hash []byte, now time.Time) (domain.AuthorizationCode, error)
	// SaveRefresh stores a new refresh token (the first of a family).
	SaveRefresh(ctx context.Context, t domain.RefreshToken) error
	// Rotate spends the refresh token with oldHash and, in the same
	// transaction, calls next with it and stores the token next returns (same
	// family). If the old token was already spent, its family is revoked and
	// ErrRefreshReused returned; if revoked or expired at now, or unknown,
	// ErrGrantNotFound. An error from next aborts the rotation.
	Rotate(ctx context.Context, oldHash []byte, now time.Time, next func(old domain.RefreshToken) (domain.RefreshToken, error)) (domain.RefreshToken, error)
	// RefreshByHash returns a live (unspent, unrevoked, unexpired) refresh
	// token, or ErrGrantNotFound.
	RefreshByHash(ctx context.Context, hash []byte, now time.Time) (domain.RefreshToken, error)
	// RevokeFamily revokes every token of the family.
	RevokeFamily(ctx context.Context, familyID string, now time.Time) error
}

// Grant store errors.
var (
	ErrGrantNotFound = grantErr("grant not found")
	ErrCodeSpent     = grantErr("authorization code already used")
	ErrRefreshReused = grantErr("refresh token reused")
)

type grantErr string

func (e grantErr) Error() string { return string(e) }
