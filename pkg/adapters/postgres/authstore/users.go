package authstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore/internal/authdb"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// UserRepository is the PostgreSQL app.UserRepository.
type UserRepository struct{ q *authdb.Queries }

var _ app.UserRepository = (*UserRepository)(nil)

// NewUserRepository returns a repository on pool.
func NewUserRepository(pool *pgxpool.Pool) *UserRepository {
	return &UserRepository{q: authdb.New(pool)}
}

// Create inserts u; a duplicate email gives domain.ErrEmailTaken.
func (r *UserRepository) Create(ctx context.Context, u domain.User) error {
	id, err := parseID(u.ID)
	if err != nil {
		return err
	}
	err = queries(ctx, r.q).InsertUser(ctx, authdb.InsertUserParams{
		ID: id, Email: u.Email, DisplayName: u.DisplayName, Role: string(u.Role),
		PasswordHash: u.PasswordHash, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	})
	if fault.Of(postgres.Translate(err), fault.Conflict) {
		return domain.ErrEmailTaken
	}
	return postgres.Translate(err)
}

// ByID returns the user or domain.ErrUserNotFound.
func (r *UserRepository) ByID(ctx context.Context, id string) (domain.User, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return domain.User{}, domain.ErrUserNotFound
	}
	row, err := queries(ctx, r.q).UserByID(ctx, uid)
	if err != nil {
		return domain.User{}, postgres.Lookup(err, domain.ErrUserNotFound)
	}
	return userFromRow(row), nil
}

// ByEmail returns the user or domain.ErrUserNotFound.
func (r *UserRepository) ByEmail(ctx context.Context, email string) (domain.User, error) {
	row, err := queries(ctx, r.q).UserByEmail(ctx, email)
	if err != nil {
		return domain.User{}, postgres.Lookup(err, domain.ErrUserNotFound)
	}
	return userFromRow(row), nil
}

// List returns up to limit users after the given id, in id order.
func (r *UserRepository) List(ctx context.Context, after string, limit int) ([]domain.User, error) {
	var from uuid.UUID // the nil UUID sorts before every UUIDv7
	if after != "" {
		var err error
		if from, err = parseID(after); err != nil {
			return nil, err
		}
	}
	rows, err := queries(ctx, r.q).ListUsersAfter(ctx, authdb.ListUsersAfterParams{ID: from, Limit: int32(limit)})
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.User, len(rows))
	for i, row := range rows {
		out[i] = userFromRow(row)
	}
	return out, nil
}

// ReplacePasswordHash swaps the user's hash if it is still oldHash.
func (r *UserRepository) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string, at time.Time) (bool, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return false, nil
	}
	n, err := queries(ctx, r.q).ReplacePasswordHash(ctx, authdb.ReplacePasswordHashParams{ID: uid, OldHash: oldHash, NewHash: newHash, UpdatedAt: at})
	return n == 1, postgres.Translate(err)
}

func userFromRow(r authdb.User) domain.User {
	return domain.User{
		ID: r.ID.String(), Email: r.Email, DisplayName: r.DisplayName, Role: domain.Role(r.Role),
		PasswordHash: r.PasswordHash, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// parseID turns a domain id into a UUID; ids are minted by the use cases, so
// a bad one is a bug, not a client mistake.
func parseID(id string) (uuid.UUID, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return uuid.UUID{}, fault.Wrap(fault.Internal, "malformed id", err)
	}
	return u, nil
}
