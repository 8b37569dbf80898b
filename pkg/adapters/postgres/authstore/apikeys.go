package authstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore/internal/authdb"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// APIKeyRepository is the PostgreSQL app.APIKeyRepository.
type APIKeyRepository struct{ q *authdb.Queries }

var _ app.APIKeyRepository = (*APIKeyRepository)(nil)

// NewAPIKeyRepository returns a repository on pool.
func NewAPIKeyRepository(pool *pgxpool.Pool) *APIKeyRepository {
	return &APIKeyRepository{q: authdb.New(pool)}
}

// Create stores k.
func (r *APIKeyRepository) Create(ctx context.Context, k domain.APIKey) error {
	id, err := parseID(k.ID)
	if err != nil {
		return err
	}
	uid, err := parseID(k.UserID)
	if err != nil {
		return err
	}
	return postgres.Translate(queries(ctx, r.q).InsertAPIKey(ctx, authdb.InsertAPIKeyParams{
		ID: id, UserID: uid, Name: k.Name, Prefix: k.Prefix, KeyHash: k.Hash,
		Scopes: nonNil(k.Scopes), CreatedAt: k.CreatedAt, ExpiresAt: timePtr(k.ExpiresAt),
	}))

}

// ByHash returns the key with this hash.
func (r *APIKeyRepository) ByHash(ctx context.Context, hash []byte) (domain.APIKey, error) {
	row, err := queries(ctx, r.q).APIKeyByHash(ctx, hash)
	if err != nil {
		return domain.APIKey{}, postgres.Lookup(err, domain.ErrAPIKeyNotFound)
	}
	return apiKeyFromRow(row), nil
}

// ListByUser returns the user's keys, newest first.
func (r *APIKeyRepository) ListByUser(ctx context.Context, userID string) ([]domain.APIKey, error) {
	uid, err := uuid.Parse(userID)
	if err != nil {
		return []domain.APIKey{}, nil
	}
	rows, err := queries(ctx, r.q).ListAPIKeysByUser(ctx, uid)
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.APIKey, len(rows))
	for i, row := range rows {
		out[i] = apiKeyFromRow(row)
	}
	return out, nil
}

// Revoke marks the user's key revoked.
func (r *APIKeyRepository) Revoke(ctx context.Context, userID, id string, now time.Time) error {
	kid, err1 := uuid.Parse(id)
	uid, err2 := uuid.Parse(userID)
	if err1 != nil || err2 != nil {
		return domain.ErrAPIKeyNotFound
	}
	n, err := queries(ctx, r.q).RevokeAPIKey(ctx, authdb.RevokeAPIKeyParams{ID: kid, UserID: uid, RevokedAt: &now})
	if err != nil {
		return postgres.Translate(err)
	}
	if n == 0 {
		return domain.ErrAPIKeyNotFound
	}
	return nil
}

// Touch records a use.
func (r *APIKeyRepository) Touch(ctx context.Context, id string, now time.Time) error {
	kid, err := parseID(id)
	if err != nil {
		return err
	}
	return postgres.Translate(queries(ctx, r.q).TouchAPIKey(ctx, authdb.TouchAPIKeyParams{ID: kid, LastUsedAt: &now}))
}

func apiKeyFromRow(r authdb.ApiKey) domain.APIKey {
	return domain.APIKey{
		ID: r.ID.String(), UserID: r.UserID.String(), Name: r.Name, Prefix: r.Prefix, Hash: r.KeyHash,
		Scopes: r.Scopes, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: timeVal(r.ExpiresAt),
		RevokedAt: timeVal(r.RevokedAt), LastUsedAt: timeVal(r.LastUsedAt),
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeVal(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
