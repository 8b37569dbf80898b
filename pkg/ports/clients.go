package ports

import (
	"context"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// ClientRepository stores OAuth clients.
type ClientRepository interface {
	// Create stores c; a duplicate id gives a fault.Conflict error.
	Create(ctx context.Context, c domain.Client) error
	// ByID returns domain.ErrClientNotFound for an unknown id.
	ByID(ctx context.Context, id string) (domain.Client, error)
	// List returns every client, oldest first.
	List(ctx context.Context) ([]domain.Client, error)
	// Delete removes a client and every grant issued to it, or returns
	// domain.ErrClientNotFound.
	Delete(ctx context.Context, id string) error
}
