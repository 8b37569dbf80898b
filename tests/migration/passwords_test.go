package migration_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// TestMonolithPasswordsLogInThroughLattice: users whose passwords the
// monolith's passlib hashed (pbkdf2_sha256 and bcrypt) are copied into
// Lattice's auth store with their hashes as they are (what `lattice import`
// will do; until it exists, the test copies them with the auth store's
// adapter). Each logs in through Lattice's gateway with the password the
// monolith knew; the stored hash is then Argon2id, and the password keeps
// working. A wrong password is refused and changes nothing.
func TestMonolithPasswordsLogInThroughLattice(t *testing.T) {
	// Four users (two of each scheme): four calls each stay within the
	// gateway's default per-address budget for credential routes.
	m := startMonolith(t, "--users", "4", "--resources-per-user", "0", "--files-per-resource", "0")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, m.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT email, full_name, password_hash FROM users WHERE email LIKE '%@monolith.example' AND email = lower(email) ORDER BY id")
	require.NoError(t, err)
	type legacyUser struct{ email, name, hash string }
	var legacy []legacyUser
	for rows.Next() {
		var u legacyUser
		require.NoError(t, rows.Scan(&u.email, &u.name, &u.hash))
		legacy = append(legacy, u)
	}
	require.NoError(t, rows.Err())
	require.Len(t, legacy, 4)

	env := testinfra.PlatformEnv(t)
	_, gateway := testinfra.ServeAll(t, env)
	pool, err := postgres.Open(ctx, envValue(env, "AUTH_DATABASE_URL"))
	require.NoError(t, err)
	defer pool.Close()
	users := authstore.NewUserRepository(pool)
	now := time.Now().UTC()
	for _, u := range legacy {
		require.NoError(t, users.Create(ctx, domain.User{ID: uuid.Must(uuid.NewV7()).String(), Email: u.email, DisplayName: u.name,
			Role: domain.RoleUser, PasswordHash: u.hash, CreatedAt: now, UpdatedAt: now}))
	}

	schemes := map[string]bool{}
	for i, u := range m.Seeded.Users {
		before, err := users.ByEmail(ctx, u.Email)
		require.NoError(t, err)
		require.Equal(t, legacy[i].hash, before.PasswordHash)
		status, out := call(t, "POST", gateway+"/v1/sessions", "", map[string]string{"email": u.Email, "password": u.Password + "!"})
		require.Equal(t, http.StatusUnauthorized, status, "%s: %v", u.Email, out)

		status, out = call(t, "POST", gateway+"/v1/sessions", "", map[string]string{"email": u.Email, "password": u.Password})
		require.Equal(t, http.StatusCreated, status, "%s (%s): %v", u.Email, u.Scheme, out)
		status, me := call(t, "GET", gateway+"/v1/users/me", out["token"].(string), nil)
		require.Equal(t, http.StatusOK, status, "%v", me)
		require.Equal(t, u.Email, me["email"])

		after, err := users.ByEmail(ctx, u.Email)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(after.PasswordHash, "$argon2id$"), "%s: %s", u.Email, after.PasswordHash)
		status, _ = call(t, "POST", gateway+"/v1/sessions", "", map[string]string{"email": u.Email, "password": u.Password})
		require.Equal(t, http.StatusCreated, status, "%s logs in again with the new hash", u.Email)
		schemes[u.Scheme] = true
	}
	require.Equal(t, map[string]bool{"pbkdf2_sha256": true, "bcrypt": true}, schemes)
}

// envValue is the value of name in env ("NAME=value" entries), the last
// one winning as in a process's environment.
func envValue(env []string, name string) string {
	v := os.Getenv(name)
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}
