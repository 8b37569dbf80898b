package migration_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// exchangeGrant is the token exchange's grant type (RFC 8693).
const exchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"

// TestMonolithSessionsSurviveTheCutOver: users logged into the monolith
// before the cut-over keep working through Lattice's gateway with the
// session token they have. The gateway exchanges it at auth (RFC 8693,
// verified with the monolith's HS256 secret file), sends the Lattice token
// upstream, and hands it to the client in X-Lattice-Access-Token, which
// then works on its own. A forged, an expired, an unknown user's and a
// malformed token get 401.
func TestMonolithSessionsSurviveTheCutOver(t *testing.T) {
	m := startMonolith(t, "--users", "3", "--resources-per-user", "0", "--files-per-resource", "0")
	before := []string{monolithLogin(t, m, 1), monolithLogin(t, m, 2)}

	env := testinfra.PlatformEnv(t)
	importUsers(t, m, env)
	env = append(env, "AUTH_LEGACY_SESSION_SECRET_FILE="+m.SecretFile)
	env = append(env, exchangeClient(t, env)...)
	_, gateway := testinfra.ServeAll(t, env)

	status, meta := call(t, "GET", gateway+"/.well-known/oauth-authorization-server", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, meta["grant_types_supported"], exchangeGrant, "discovery lists the grant")

	for i, legacy := range before {
		email := m.Seeded.Users[i+1].Email
		status, me, issued := callWithHeader(t, "GET", gateway+"/v1/users/me", legacy, nil)
		require.Equal(t, http.StatusOK, status, "%s: %v", email, me)
		require.Equal(t, email, me["email"], "the session is the same user's")
		require.NotEmpty(t, issued, "the gateway hands over the Lattice token")
		require.NotEqual(t, legacy, issued)

		status, created, _ := callWithHeader(t, "POST", gateway+"/v1/resources", legacy,
			map[string]any{"title": "written with a monolith session", "body": "b", "visibility": "private"})
		require.Equal(t, http.StatusCreated, status, "%v", created)
		require.Equal(t, me["id"], created["owner_id"], "the resource service saw the user, from the Lattice token the gateway sent")

		status, again := call(t, "GET", gateway+"/v1/resources/"+created["id"].(string), issued, nil)
		require.Equal(t, http.StatusOK, status, "the Lattice token works on its own: %v", again)
	}

	secret, err := os.ReadFile(m.SecretFile)
	require.NoError(t, err)
	key := []byte(strings.TrimSpace(string(secret)))
	legacyID := legacyUserIDs(t, m)
	for name, token := range map[string]string{
		"forged (another secret)":  monolithToken(t, []byte("not the monolith's secret at all"), legacyID[m.Seeded.Users[1].Email], time.Hour),
		"expired":                  monolithToken(t, key, legacyID[m.Seeded.Users[1].Email], -time.Minute),
		"a user never imported":    monolithToken(t, key, legacyID["not-an-email"], time.Hour),
		"not a token":              "hello",
		"the right secret, no sub": monolithToken(t, key, "", time.Hour),
	} {
		status, body, issued := callWithHeader(t, "GET", gateway+"/v1/resources?limit=1", token, nil)
		require.Equal(t, http.StatusUnauthorized, status, "%s: %v", name, body)
		require.Empty(t, issued, name)
	}
}

// TestRevokedMonolithSessionsAreRefusedByIntrospection: with auth asking
// the monolith's introspection endpoint instead of holding its secret, a
// live session is exchanged, and one the user logged out of in the
// monolith is refused.
func TestRevokedMonolithSessionsAreRefusedByIntrospection(t *testing.T) {
	m := startMonolith(t, "--users", "2", "--resources-per-user", "0", "--files-per-resource", "0")
	live, ended := monolithLogin(t, m, 0), monolithLogin(t, m, 1)
	status, _ := call(t, "DELETE", m.URL+"/v1/sessions/current", ended, nil)
	require.Equal(t, http.StatusNoContent, status)

	env := testinfra.PlatformEnv(t)
	importUsers(t, m, env)
	env = append(env, "AUTH_LEGACY_INTROSPECTION_URL="+m.URL+"/v1/sessions/introspect",
		"AUTH_LEGACY_INTROSPECTION_TOKEN_FILE="+m.IntrospectionSecretFile)
	env = append(env, exchangeClient(t, env)...)
	_, gateway := testinfra.ServeAll(t, env)

	status, list, issued := callWithHeader(t, "GET", gateway+"/v1/resources?limit=1", live, nil)
	require.Equal(t, http.StatusOK, status, "%v", list)
	require.NotEmpty(t, issued)
	status, list, issued = callWithHeader(t, "GET", gateway+"/v1/resources?limit=1", ended, nil)
	require.Equal(t, http.StatusUnauthorized, status, "a session ended in the monolith: %v", list)
	require.Empty(t, issued)
}

// monolithLogin logs the i-th seeded user into the monolith and returns
// the session token.
func monolithLogin(t *testing.T, m *monolith, i int) string {
	t.Helper()
	u := m.Seeded.Users[i]
	status, out := call(t, "POST", m.URL+"/v1/sessions", "", map[string]string{"email": u.Email, "password": u.Password})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	return out["access_token"].(string)
}

// monolithToken signs a session token as the monolith does (PyJWT, HS256)
// with key, for the user with legacy id sub, expiring in ttl.
func monolithToken(t *testing.T, key []byte, sub string, ttl time.Duration) string {
	t.Helper()
	b := jwt.NewBuilder().Claim("sid", "0f1d3c52-8a8e-4c5e-9a8b-2f6f4a1e9b10").
		IssuedAt(time.Now().Add(-2 * time.Hour)).Expiration(time.Now().Add(ttl))
	if sub != "" {
		b = b.Subject(sub)
	}
	tok, err := b.Build()
	require.NoError(t, err)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), key))
	require.NoError(t, err)
	return string(signed)
}

// legacyUserIDs maps the monolith's emails to its user ids.
func legacyUserIDs(t *testing.T, m *monolith) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, m.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT email, id::text FROM users")
	require.NoError(t, err)
	ids := map[string]string{}
	for rows.Next() {
		var email, id string
		require.NoError(t, rows.Scan(&email, &id))
		ids[email] = id
	}
	require.NoError(t, rows.Err())
	return ids
}

// exchangeClient registers the gateway's token-exchange client with
// `lattice client create` and returns the gateway's settings for it.
func exchangeClient(t *testing.T, env []string) []string {
	t.Helper()
	out := runLattice(t, env, "client", "create", "--name", "gateway legacy sessions", "--type", "confidential", "--grant", exchangeGrant)
	var id, secret string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "client_id="); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(line, "client_secret="); ok {
			secret = v
		}
	}
	require.NotEmpty(t, id, out)
	require.NotEmpty(t, secret, out)
	return []string{"GATEWAY_LEGACY_EXCHANGE_CLIENT_ID=" + id, "GATEWAY_LEGACY_EXCHANGE_CLIENT_SECRET=" + secret}
}

// callWithHeader is call, also returning the X-Lattice-Access-Token
// response header.
func callWithHeader(t *testing.T, method, url, token string, body any) (int, map[string]any, string) {
	t.Helper()
	var issued string
	status, out := callObserving(t, method, url, token, body, func(h http.Header) { issued = h.Get("X-Lattice-Access-Token") })
	return status, out, issued
}
