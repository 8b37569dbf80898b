package ports

import (
	"context"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// UserRepository stores accounts.
type UserRepository interface {
	// Create stores a new user. It returns domain.ErrEmailTaken when the
	// (normalised) email is already registered.
	Create(ctx context.Context, u domain.User) error
	// ByID returns domain.ErrUserNotFound when no user has the id.
	ByID(ctx context.Context, id string) (domain.User, error)
	// ByEmail takes a normalised email and returns domain.ErrUserNotFound when
	// no user has it.
	ByEmail(ctx context.Context, email string) (domain.User, error)
	// List returns up to limit users with ids greater than after ("" for the
	// first page), in id order (which is creation order for UUIDv7 ids).
	List(ctx context.Context, after string, limit int) ([]domain.User, error)
}
