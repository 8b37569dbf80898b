package porttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// UserRepository checks a app.UserRepository; newRepo returns an empty one.
func UserRepository(t *testing.T, newRepo func(t *testing.T) app.UserRepository) {
	ctx := context.Background()
	user := func(email string) domain.User {
		ts := now()
		return domain.User{ID: newID(), Email: email, DisplayName: "Ada", Role: domain.RoleUser,
			PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5", CreatedAt: ts, UpdatedAt: ts}
	}

	t.Run("create and read back", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		u := user("ada@example.com")
		u.Role = domain.RoleAdmin
		require.NoError(t, r.Create(ctx, u))
		got, err := r.ByID(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, u, got)
		got, err = r.ByEmail(ctx, "ada@example.com")
		require.NoError(t, err)
		require.Equal(t, u, got)
	})

	t.Run("duplicate email", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		require.NoError(t, r.Create(ctx, user("dup@example.com")))
		require.ErrorIs(t, r.Create(ctx, user("dup@example.com")), domain.ErrEmailTaken)
	})

	t.Run("not found", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		_, err := r.ByID(ctx, newID())
		require.ErrorIs(t, err, domain.ErrUserNotFound)
		_, err = r.ByID(ctx, "not-a-uuid")
		require.ErrorIs(t, err, domain.ErrUserNotFound)
		_, err = r.ByEmail(ctx, "nobody@example.com")
		require.ErrorIs(t, err, domain.ErrUserNotFound)
	})

	t.Run("a password hash is replaced only if it is still the one verified", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		u := user("legacy@example.com")
		u.PasswordHash = "$2b$04$0ehisEbhH79wZy0Rit8gCujAxj7aLDsjZV0pczUMm0ZtRkSR2JsWK"
		require.NoError(t, r.Create(ctx, u))
		at := u.UpdatedAt.Add(time.Minute)
		ok, err := r.ReplacePasswordHash(ctx, u.ID, "$2b$04$someone-else's", "$argon2id$new", at)
		require.NoError(t, err)
		require.False(t, ok, "not the stored hash")
		ok, err = r.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, "$argon2id$new", at)
		require.NoError(t, err)
		require.True(t, ok)
		got, err := r.ByID(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, "$argon2id$new", got.PasswordHash)
		require.True(t, got.UpdatedAt.Equal(at), "%v", got.UpdatedAt)
		ok, err = r.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, "$argon2id$newer", at)
		require.NoError(t, err)
		require.False(t, ok, "the old hash is gone: a second replacement does nothing")
		ok, err = r.ReplacePasswordHash(ctx, newID(), "a", "b", at)
		require.NoError(t, err)
		require.False(t, ok, "no such user")
	})

	t.Run("list pages in id order", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		var ids []string
		for i := range 5 {
			u := user(fmt.Sprintf("u%d@example.com", i))
			require.NoError(t, r.Create(ctx, u))
			ids = append(ids, u.ID)
		}
		first, err := r.List(ctx, "", 2)
		require.NoError(t, err)
		require.Equal(t, ids[:2], idsOf(first))
		rest, err := r.List(ctx, first[1].ID, 10)
		require.NoError(t, err)
		require.Equal(t, ids[2:], idsOf(rest))
		none, err := r.List(ctx, ids[4], 10)
		require.NoError(t, err)
		require.Empty(t, none)
	})
}

func idsOf(us []domain.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}
