package migration_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// TestMonolithPasswordsLogInThroughLattice: users whose passwords the
// monolith's passlib hashed (pbkdf2_sha256 and bcrypt) are imported into
// Lattice with their hashes as they are (`lattice import`). Each logs in through Lattice's gateway with the password the
// monolith knew; the stored hash is then Argon2id, and the password keeps
// working. A wrong password is refused and changes nothing.
func TestMonolithPasswordsLogInThroughLattice(t *testing.T) {
	ctx := context.Background()
	m, gateway, users, legacy := migratedUsers(t)
	require.Len(t, legacy, 4)

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

// migratedUsers starts a monolith with four users (two of each scheme,
// the first an admin) and no resources, and Lattice on fresh databases,
// and imports the users with `lattice import`: the gateway's base URL,
// Lattice's user store and the users as the monolith held them. Four users, because a
// test's few calls per user must stay within the gateway's default
// per-address budget for credential routes.
func migratedUsers(t *testing.T) (*monolith, string, *authstore.UserRepository, []legacyUser) {
	t.Helper()
	m := startMonolith(t, "--users", "4", "--resources-per-user", "0", "--files-per-resource", "0")
	env := testinfra.PlatformEnv(t)
	_, gateway := testinfra.ServeAll(t, env)
	importUsers(t, m, env)
	return m, gateway, authUsers(t, env), legacyUsers(t, m)
}

// legacyUsers are the monolith's users with valid, unique emails, as its
// database holds them, in id order (the seed summary's).
func legacyUsers(t *testing.T, m *monolith) []legacyUser {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, m.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT email, full_name, password_hash, is_admin FROM users
		WHERE email LIKE '%@monolith.example' AND email = lower(email) ORDER BY id`)
	require.NoError(t, err)
	var legacy []legacyUser
	for rows.Next() {
		var u legacyUser
		require.NoError(t, rows.Scan(&u.email, &u.name, &u.hash, &u.admin))
		legacy = append(legacy, u)
	}
	require.NoError(t, rows.Err())
	return legacy
}

// legacyUser is a monolith user as its database holds it.
type legacyUser struct {
	email, name, hash string
	admin             bool
}

// importUsers runs `lattice import` with the monolith's mapping file
// (examples/monolith/import.yaml) against the monolith's database and
// Lattice's stores in env, and returns its report.
func importUsers(t *testing.T, m *monolith, env []string, flags ...string) string {
	t.Helper()
	return runLattice(t, append(slices.Clone(env), "IMPORT_SOURCE_URL="+m.DatabaseURL),
		append([]string{"import", "--mapping", "../../examples/monolith/import.yaml", "--files-dir", m.FilesDir}, flags...)...)
}

// runLattice runs the lattice binary with env and returns its standard
// output; it must succeed.
func runLattice(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testinfra.LatticeBinary(t), args...)
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "lattice %s: %s", args[0], stderr.String())
	return stdout.String()
}

// authUsers is Lattice's user store in env, for reading what an import or
// a login left there.
func authUsers(t *testing.T, env []string) *authstore.UserRepository {
	t.Helper()
	pool, err := postgres.Open(context.Background(), envValue(env, "AUTH_DATABASE_URL"))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return authstore.NewUserRepository(pool)
}

// TestMonolithPasswordsSignInThroughTheOAuthForm: a migrated user signs in
// on Lattice's authorization page (through the gateway) with the password
// the monolith knew, and the client gets a token for them; the stored hash
// is then Argon2id. One user of each scheme; the monolith's admin, imported
// as an admin, registers the client.
func TestMonolithPasswordsSignInThroughTheOAuthForm(t *testing.T) {
	ctx := context.Background()
	m, gateway, users, legacy := migratedUsers(t)
	require.True(t, legacy[0].admin)

	admin := m.Seeded.Users[0]
	status, out := call(t, "POST", gateway+"/v1/sessions", "", map[string]string{"email": admin.Email, "password": admin.Password})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	const redirect = "http://127.0.0.1:53682/callback" // never called: the test reads the redirect
	status, created := call(t, "POST", gateway+"/oauth2/clients", out["token"].(string), map[string]any{"name": "Migrated app", "type": "public",
		"redirect_uris": []string{redirect}, "grant_types": []string{"authorization_code"}, "scopes": []string{"users:read"}})
	require.Equal(t, http.StatusCreated, status, "%v", created)
	cfg := oauth2.Config{ClientID: created["client"].(map[string]any)["client_id"].(string), RedirectURL: redirect, Scopes: []string{"users:read"},
		Endpoint: oauth2.Endpoint{AuthURL: gateway + "/oauth2/authorize", TokenURL: gateway + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}

	for _, i := range []int{1, 3} { // bcrypt, then pbkdf2_sha256
		u := m.Seeded.Users[i]
		verifier := oauth2.GenerateVerifier()
		back := testinfra.SignIn(t, testinfra.Browser(), cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier)),
			gateway+"/oauth2/authorize", u.Email, u.Password)
		require.Equal(t, "state", back.Query().Get("state"))
		tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
		require.NoError(t, err, u.Scheme)
		status, me := call(t, "GET", gateway+"/v1/users/me", tok.AccessToken, nil)
		require.Equal(t, http.StatusOK, status, "%v", me)
		require.Equal(t, u.Email, me["email"])
		after, err := users.ByEmail(ctx, u.Email)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(after.PasswordHash, "$argon2id$"), "%s (%s): %s", u.Email, u.Scheme, after.PasswordHash)
	}
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
