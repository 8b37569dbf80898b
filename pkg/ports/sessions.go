package ports

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// SessionStore keeps login sessions. Implementations treat a session past its
// ExpiresAt as absent.
type SessionStore interface {
	// Create stores s. It returns a fault.Conflict error if its id or token
	// hash is already stored.
	Create(ctx context.Context, s domain.Session) error
	// ByTokenHash returns the live session with this token hash at time now,
	// or domain.ErrSessionNotFound.
	ByTokenHash(ctx context.Context, hash []byte, now time.Time) (domain.Session, error)
	// ListByUser returns the user's live sessions at time now, newest first.
	ListByUser(ctx context.Context, userID string, now time.Time) ([]domain.Session, error)
	// Delete removes the user's session id, or returns
	// domain.ErrSessionNotFound if the user has no such session.
	Delete(ctx context.Context, userID, id string) error
}
