package ports

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// APIKeyRepository stores API keys.
type APIKeyRepository interface {
	// Create stores k; a duplicate hash gives a fault.Conflict error.
	Create(ctx context.Context, k domain.APIKey) error
	// ByHash returns the key with this hash, live or not, or
	// domain.ErrAPIKeyNotFound.
	ByHash(ctx context.Context, hash []byte) (domain.APIKey, error)
	// ListByUser returns the user's keys, newest first, revoked ones included.
	ListByUser(ctx context.Context, userID string) ([]domain.APIKey, error)
	// Revoke marks the user's key revoked at now, or returns
	// domain.ErrAPIKeyNotFound if the user has no such unrevoked key.
	Revoke(ctx context.Context, userID, id string, now time.Time) error
	// Touch records that the key was used at now; best effort.
	Touch(ctx context.Context, id string, now time.Time) error
}
