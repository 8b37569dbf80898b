package authstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore/internal/authdb"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// GrantStore is the PostgreSQL app.GrantStore.
type GrantStore struct {
	pool *pgxpool.Pool
	q    *authdb.Queries
}

var _ app.GrantStore = (*GrantStore)(nil)

// NewGrantStore returns a store on pool.
func NewGrantStore(pool *pgxpool.Pool) *GrantStore {
	return &GrantStore{pool: pool, q: authdb.New(pool)}
}

// SaveCode stores an authorization code.
func (g *GrantStore) SaveCode(ctx context.Context, c domain.AuthorizationCode) error {
	uid, err := parseID(c.UserID)
	if err != nil {
		return err
	}
	return postgres.Translate(queries(ctx, g.q).InsertCode(ctx, authdb.InsertCodeParams{
		CodeHash: c.CodeHash, ClientID: c.ClientID, UserID: uid, RedirectUri: c.RedirectURI,
		Scopes: nonNil(c.Scopes), CodeChallenge: c.CodeChallenge, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt,
	}))

}

// ConsumeCode spends a code with one conditional UPDATE, so concurrent
// redemptions race on the row lock and only one wins.
func (g *GrantStore) ConsumeCode(ctx context.Context, hash []byte, now time.Time) (domain.AuthorizationCode, error) {
	row, err := queries(ctx, g.q).ConsumeCode(ctx, authdb.ConsumeCodeParams{Now: now, CodeHash: hash})
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := queries(ctx, g.q).CodeByHash(ctx, hash); err == nil {
			return domain.AuthorizationCode{}, app.ErrCodeSpent
		}
		return domain.AuthorizationCode{}, app.ErrGrantNotFound
	}
	if err != nil {
		return domain.AuthorizationCode{}, postgres.Translate(err)
	}
	return domain.AuthorizationCode{
		CodeHash: row.CodeHash, ClientID: row.ClientID, UserID: row.UserID.String(), RedirectURI: row.RedirectUri,
		Scopes: row.Scopes, CodeChallenge: row.CodeChallenge, CreatedAt: row.CreatedAt.UTC(), ExpiresAt: row.ExpiresAt.UTC(),
	}, nil
}

// SaveRefresh stores the first token of a family.
func (g *GrantStore) SaveRefresh(ctx context.Context, t domain.RefreshToken) error {
	return insertRefresh(ctx, g.q, t)
}

func insertRefresh(ctx context.Context, q *authdb.Queries, t domain.RefreshToken) error {
	id, err := parseID(t.ID)
	if err != nil {
		return err
	}
	fam, err := parseID(t.FamilyID)
	if err != nil {
		return err
	}
	uid, err := parseID(t.UserID)
	if err != nil {
		return err
	}
	return postgres.Translate(q.InsertRefreshToken(ctx, authdb.InsertRefreshTokenParams{
		ID: id, FamilyID: fam, TokenHash: t.TokenHash, ClientID: t.ClientID, UserID: uid,
		Scopes: nonNil(t.Scopes), CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
	}))

}

// errReused carries a family to revoke out of the aborted transaction.
type errReused struct{ family uuid.UUID }

func (errReused) Error() string { return "refresh token reused" }

// Rotate spends the old token and stores its successor in one transaction,
// holding the old row's lock so concurrent refreshes serialise. Reuse
// revokes the family in a separate transaction, after the first rolls back.
func (g *GrantStore) Rotate(ctx context.Context, oldHash []byte, now time.Time, next func(domain.RefreshToken) (domain.RefreshToken, error)) (domain.RefreshToken, error) {
	var issued domain.RefreshToken
	err := pgx.BeginFunc(ctx, postgres.Beginner(ctx, g.pool), func(tx pgx.Tx) error {
		q := g.q.WithTx(tx)
		row, err := q.RefreshTokenForUpdate(ctx, oldHash)
		if errors.Is(err, pgx.ErrNoRows) {
			return app.ErrGrantNotFound
		}
		if err != nil {
			return err
		}
		switch {
		case row.RevokedAt != nil, !now.Before(row.ExpiresAt):
			return app.ErrGrantNotFound
		case row.SpentAt != nil:
			return errReused{family: row.FamilyID}
		}
		if err := q.SpendRefreshToken(ctx, authdb.SpendRefreshTokenParams{ID: row.ID, SpentAt: &now}); err != nil {
			return err
		}
		issued, err = next(refreshFromRow(row))
		if err != nil {
			return err
		}
		issued.FamilyID = row.FamilyID.String()
		return insertRefresh(ctx, q, issued)
	})
	var reused errReused
	if errors.As(err, &reused) {
		if err := g.RevokeFamily(ctx, reused.family.String(), now); err != nil {
			return domain.RefreshToken{}, fmt.Errorf("revoke reused family: %w", err)
		}
		return domain.RefreshToken{}, app.ErrRefreshReused
	}
	if err != nil {
		return domain.RefreshToken{}, postgres.Translate(err)
	}
	return issued, nil
}

// RefreshByHash returns a live refresh token.
func (g *GrantStore) RefreshByHash(ctx context.Context, hash []byte, now time.Time) (domain.RefreshToken, error) {
	row, err := queries(ctx, g.q).RefreshTokenByHash(ctx, hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.RefreshToken{}, app.ErrGrantNotFound
	}
	if err != nil {
		return domain.RefreshToken{}, postgres.Translate(err)
	}
	if row.RevokedAt != nil || row.SpentAt != nil || !now.Before(row.ExpiresAt) {
		return domain.RefreshToken{}, app.ErrGrantNotFound
	}
	return refreshFromRow(row), nil
}

// RevokeFamily revokes every token of the family.
func (g *GrantStore) RevokeFamily(ctx context.Context, familyID string, now time.Time) error {
	fam, err := uuid.Parse(familyID)
	if err != nil {
		return app.ErrGrantNotFound
	}
	_, err = queries(ctx, g.q).RevokeRefreshFamily(ctx, authdb.RevokeRefreshFamilyParams{FamilyID: fam, RevokedAt: &now})
	return postgres.Translate(err)
}

// DeleteExpired removes codes and refresh tokens past their expiry.
func (g *GrantStore) DeleteExpired(ctx context.Context, now time.Time) error {
	return postgres.Translate(queries(ctx, g.q).DeleteExpiredGrants(ctx, now))
}

func refreshFromRow(r authdb.OauthRefreshToken) domain.RefreshToken {
	return domain.RefreshToken{
		ID: r.ID.String(), FamilyID: r.FamilyID.String(), TokenHash: r.TokenHash, ClientID: r.ClientID,
		UserID: r.UserID.String(), Scopes: r.Scopes, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
}
