package legacysession_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/legacysession"
	"github.com/lattice-platform/lattice/services/auth/app"
)

var secret = []byte("the monolith's session secret, 32+ bytes")

func sign(t *testing.T, alg jwa.SignatureAlgorithm, key any, build func(*jwt.Builder) *jwt.Builder) string {
	t.Helper()
	tok, err := build(jwt.NewBuilder()).Build()
	require.NoError(t, err)
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	require.NoError(t, err)
	return string(signed)
}

func session(sub string, exp time.Duration) func(*jwt.Builder) *jwt.Builder {
	return func(b *jwt.Builder) *jwt.Builder {
		b = b.Claim("sid", "s-1").IssuedAt(time.Now().Add(-time.Hour)).Expiration(time.Now().Add(exp))
		if sub != "" {
			b = b.Subject(sub)
		}
		return b
	}
}

// TestHS256AcceptsOnlyTheMonolithsLiveSessions: the secret, the algorithm
// and the expiry must all hold, and the token must name a user.
func TestHS256AcceptsOnlyTheMonolithsLiveSessions(t *testing.T) {
	ctx := context.Background()
	v, err := legacysession.NewHS256(secret)
	require.NoError(t, err)
	sub, err := v.Verify(ctx, sign(t, jwa.HS256(), secret, session("42", time.Hour)))
	require.NoError(t, err)
	require.Equal(t, "42", sub)

	noExp := func(b *jwt.Builder) *jwt.Builder { return b.Subject("42") }
	for name, token := range map[string]string{
		"another secret":  sign(t, jwa.HS256(), []byte("another secret of 32 or more bytes"), session("42", time.Hour)),
		"expired":         sign(t, jwa.HS256(), secret, session("42", -2*time.Minute)),
		"no expiry":       sign(t, jwa.HS256(), secret, noExp),
		"no subject":      sign(t, jwa.HS256(), secret, session("", time.Hour)),
		"HS512":           sign(t, jwa.HS512(), secret, session("42", time.Hour)),
		"alg none":        unsigned(t, session("42", time.Hour)),
		"not a JWT":       "hello",
		"over the limit":  sign(t, jwa.HS256(), secret, session(strings.Repeat("4", legacysession.MaxToken), time.Hour)),
		"truncated token": sign(t, jwa.HS256(), secret, session("42", time.Hour))[:40],
	} {
		_, err := v.Verify(ctx, token)
		require.ErrorIs(t, err, app.ErrLegacySessionInvalid, name)
	}
	_, err = legacysession.NewHS256([]byte("short"))
	require.Error(t, err, "a guessable secret is refused")
}

// unsigned is a JWT with alg "none", as a forger would send it.
func unsigned(t *testing.T, build func(*jwt.Builder) *jwt.Builder) string {
	t.Helper()
	signed := sign(t, jwa.HS256(), secret, build)
	parts := strings.Split(signed, ".")
	return "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
}

// TestIntrospectionAsksTheMonolith: the endpoint's answer decides, with
// the bearer token sent; an answer that is not a clear yes or no is an
// error, not a refusal, so an outage is not mistaken for a logout.
func TestIntrospectionAsksTheMonolith(t *testing.T) {
	ctx := context.Background()
	var answer string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer introspection-secret" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		require.NoError(t, r.ParseForm())
		w.WriteHeader(status)
		fmt.Fprint(w, strings.ReplaceAll(answer, "TOKEN", r.PostForm.Get("token")))
	}))
	defer srv.Close()
	v, err := legacysession.NewIntrospection(srv.URL, "introspection-secret", srv.Client())
	require.NoError(t, err)

	for _, c := range []struct{ answer, sub string }{
		{`{"active": true, "sub": "7", "exp": 9999999999}`, "7"},
		{`{"active": true, "sub": 7}`, "7"},
	} {
		answer = c.answer
		sub, err := v.Verify(ctx, "a-session")
		require.NoError(t, err, c.answer)
		require.Equal(t, c.sub, sub)
	}
	for _, refused := range []string{`{"active": false}`, `{"active": true}`, `{"active": true, "sub": "7", "exp": 1}`, `{"active": true, "sub": {"id": 7}}`} {
		answer = refused
		_, err := v.Verify(ctx, "a-session")
		require.ErrorIs(t, err, app.ErrLegacySessionInvalid, refused)
	}
	_, err = v.Verify(ctx, strings.Repeat("x", legacysession.MaxToken+1))
	require.ErrorIs(t, err, app.ErrLegacySessionInvalid, "an oversized token is not sent")

	for name, set := range map[string]func(){
		"a server error":    func() { status, answer = http.StatusInternalServerError, `{}` },
		"not JSON":          func() { status, answer = http.StatusOK, `<html>` },
		"an endless answer": func() { status, answer = http.StatusOK, `{"active": true, "sub": "`+strings.Repeat("7", 70<<10)+`"}` },
	} {
		set()
		_, err := v.Verify(ctx, "a-session")
		require.Error(t, err, name)
		require.NotErrorIs(t, err, app.ErrLegacySessionInvalid, name)
	}
	wrong, err := legacysession.NewIntrospection(srv.URL, "wrong", srv.Client())
	require.NoError(t, err)
	status, answer = http.StatusOK, `{"active": true, "sub": "7"}`
	_, err = wrong.Verify(ctx, "a-session")
	require.ErrorContains(t, err, "401")

	_, err = legacysession.NewIntrospection("/relative", "", nil)
	require.Error(t, err)
}

// TestIntrospectionGivesUpOnASilentEndpoint: an endpoint that does not
// answer within the timeout is an error (the check could not be made),
// not a refusal.
func TestIntrospectionGivesUpOnASilentEndpoint(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	v, err := legacysession.NewIntrospection(srv.URL, "", srv.Client())
	require.NoError(t, err)
	v.SetTimeout(100 * time.Millisecond)
	start := time.Now()
	_, err = v.Verify(context.Background(), "a-session")
	require.Error(t, err)
	require.NotErrorIs(t, err, app.ErrLegacySessionInvalid)
	require.Less(t, time.Since(start), 5*time.Second, "the check was bounded")
}
