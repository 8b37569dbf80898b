package authstore

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore/internal/authdb"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// ClientRepository is the PostgreSQL app.ClientRepository.
type ClientRepository struct{ q *authdb.Queries }

var _ app.ClientRepository = (*ClientRepository)(nil)

// NewClientRepository returns a repository on pool.
func NewClientRepository(pool *pgxpool.Pool) *ClientRepository {
	return &ClientRepository{q: authdb.New(pool)}
}

// Create stores c.
func (r *ClientRepository) Create(ctx context.Context, c domain.Client) error {
	return postgres.Translate(queries(ctx, r.q).InsertClient(ctx, authdb.InsertClientParams{
		ID: c.ID, Name: c.Name, ClientType: string(c.Type), SecretHash: c.SecretHash,
		RedirectUris: nonNil(c.RedirectURIs), GrantTypes: nonNil(c.GrantTypes), Scopes: nonNil(c.Scopes), CreatedAt: c.CreatedAt,
	}))

}

// ByID returns the client or domain.ErrClientNotFound.
func (r *ClientRepository) ByID(ctx context.Context, id string) (domain.Client, error) {
	row, err := queries(ctx, r.q).ClientByID(ctx, id)
	if err != nil {
		return domain.Client{}, postgres.Lookup(err, domain.ErrClientNotFound)
	}
	return clientFromRow(row), nil
}

// List returns every client, oldest first.
func (r *ClientRepository) List(ctx context.Context) ([]domain.Client, error) {
	rows, err := queries(ctx, r.q).ListClients(ctx)
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.Client, len(rows))
	for i, row := range rows {
		out[i] = clientFromRow(row)
	}
	return out, nil
}

// Delete removes the client; its codes and refresh tokens go with it
// (ON DELETE CASCADE).
func (r *ClientRepository) Delete(ctx context.Context, id string) error {
	n, err := queries(ctx, r.q).DeleteClient(ctx, id)
	if err != nil {
		return postgres.Translate(err)
	}
	if n == 0 {
		return domain.ErrClientNotFound
	}
	return nil
}

func clientFromRow(r authdb.OauthClient) domain.Client {
	return domain.Client{
		ID: r.ID, Name: r.Name, Type: domain.ClientType(r.ClientType), SecretHash: r.SecretHash,
		RedirectURIs: r.RedirectUris, GrantTypes: r.GrantTypes, Scopes: r.Scopes, CreatedAt: r.CreatedAt.UTC(),
	}
}

// nonNil keeps NOT NULL array columns from receiving NULL.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
