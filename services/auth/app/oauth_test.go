package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/app/fake"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func oauthCode(t *testing.T, err error) string {
	t.Helper()
	var oe *domain.OAuthError
	require.ErrorAs(t, err, &oe)
	return oe.Code
}

type oauthFixture struct {
	svc    *app.Service
	clk    *clock
	user   domain.User
	web    app.NewClient // confidential, authorization_code + refresh_token
	robot  app.NewClient // confidential, client_credentials
	native app.NewClient // public, authorization_code + refresh_token
}

func setupOAuth(t *testing.T) oauthFixture {
	t.Helper()
	ctx := context.Background()
	svc, clk := setup(t)
	f := oauthFixture{svc: svc, clk: clk, user: signUp(t, svc, "ada@example.com")}
	var err error
	f.web, err = svc.RegisterClient(ctx, app.ClientInput{Name: "Web", Type: domain.ClientConfidential,
		RedirectURIs: []string{"https://web.example.com/cb"}, GrantTypes: []string{domain.GrantAuthorizationCode, domain.GrantRefreshToken},
		Scopes: []string{"resources:read", "search:read", "users:admin"}})
	require.NoError(t, err)
	f.robot, err = svc.RegisterClient(ctx, app.ClientInput{Name: "Robot", Type: domain.ClientConfidential,
		GrantTypes: []string{domain.GrantClientCredentials}, Scopes: []string{"resources:read", "resources:write"}})
	require.NoError(t, err)
	f.native, err = svc.RegisterClient(ctx, app.ClientInput{Name: "CLI", Type: domain.ClientPublic,
		RedirectURIs: []string{"http://127.0.0.1:7777/cb"}, GrantTypes: []string{domain.GrantAuthorizationCode, domain.GrantRefreshToken},
		Scopes: []string{"resources:read"}})
	require.NoError(t, err)
	require.NotEmpty(t, f.web.Secret)
	require.Empty(t, f.native.Secret)
	return f
}

// authorize runs the authorization request for the fixture user and
// returns the code.
func (f oauthFixture) authorize(t *testing.T, c app.NewClient, redirect, scope string) string {
	t.Helper()
	ctx := context.Background()
	v, err := f.svc.CheckAuthorize(ctx, app.AuthorizeRequest{ResponseType: "code", ClientID: c.Client.ID, RedirectURI: redirect,
		Scope: scope, State: "xyz", CodeChallenge: challenge(verifier), CodeChallengeMethod: "S256"})
	require.NoError(t, err)
	loc, err := f.svc.IssueCode(ctx, v, f.user)
	require.NoError(t, err)
	u, err := url.Parse(loc)
	require.NoError(t, err)
	require.Equal(t, "xyz", u.Query().Get("state"))
	require.Equal(t, issuer, u.Query().Get("iss"))
	return u.Query().Get("code")
}

func TestAuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	code := f.authorize(t, f.web, "https://web.example.com/cb", "resources:read users:admin")

	res, err := f.svc.Token(ctx, app.TokenRequest{GrantType: "authorization_code", ClientID: f.web.Client.ID, ClientSecret: f.web.Secret,
		Code: code, RedirectURI: "https://web.example.com/cb", CodeVerifier: verifier})
	require.NoError(t, err)
	require.Equal(t, []string{"resources:read"}, res.Scopes, "users:admin is beyond the user's role")
	require.True(t, strings.HasPrefix(res.RefreshToken, "ltr_"))

	p, err := f.svc.Authenticate(ctx, res.AccessToken)
	require.NoError(t, err)
	require.Equal(t, f.user.ID, p.UserID)
	require.Equal(t, f.web.Client.ID, p.ClientID)
	require.Equal(t, []string{"resources:read"}, p.Scopes)

	// The code is spent: replaying it fails and revokes what it produced.
	_, err = f.svc.Token(ctx, app.TokenRequest{GrantType: "authorization_code", ClientID: f.web.Client.ID, ClientSecret: f.web.Secret,
		Code: code, RedirectURI: "https://web.example.com/cb", CodeVerifier: verifier})
	require.Equal(t, domain.ErrInvalidGrant, oauthCode(t, err))
	_, err = f.svc.Token(ctx, app.TokenRequest{GrantType: "refresh_token", ClientID: f.web.Client.ID, ClientSecret: f.web.Secret, RefreshToken: res.RefreshToken})
	require.Equal(t, domain.ErrInvalidGrant, oauthCode(t, err), "refresh tokens from a replayed code are revoked")
}

func TestAuthorizationCodeRejections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	exchange := func(mutate func(*app.TokenRequest)) error {
		code := f.authorize(t, f.native, "http://127.0.0.1:7777/cb", "")
		r := app.TokenRequest{GrantType: "authorization_code", ClientID: f.native.Client.ID, Code: code,
			RedirectURI: "http://127.0.0.1:7777/cb", CodeVerifier: verifier}
		mutate(&r)
		_, err := f.svc.Token(ctx, r)
		return err
	}
	require.NoError(t, exchange(func(*app.TokenRequest) {}), "a public client with PKCE succeeds")
	for name, tc := range map[string]struct {
		mutate func(*app.TokenRequest)
		code   string
	}{
		"missing verifier":     {func(r *app.TokenRequest) { r.CodeVerifier = "" }, domain.ErrInvalidRequest},
		"wrong verifier":       {func(r *app.TokenRequest) { r.CodeVerifier = strings.Repeat("x", 43) }, domain.ErrInvalidGrant},
		"redirect mismatch":    {func(r *app.TokenRequest) { r.RedirectURI = "http://127.0.0.1:7777/other" }, domain.ErrInvalidGrant},
		"unknown code":         {func(r *app.TokenRequest) { r.Code = "nope" }, domain.ErrInvalidGrant},
		"other client":         {func(r *app.TokenRequest) { r.ClientID, r.ClientSecret = f.web.Client.ID, f.web.Secret }, domain.ErrInvalidGrant},
		"unknown client":       {func(r *app.TokenRequest) { r.ClientID = "ghost" }, domain.ErrInvalidClient},
		"secret on public":     {func(r *app.TokenRequest) { r.ClientSecret = "guess" }, domain.ErrInvalidClient},
		"unsupported grant":    {func(r *app.TokenRequest) { r.GrantType = "password" }, domain.ErrUnsupportedGrantType},
		"implicit not offered": {func(r *app.TokenRequest) { r.GrantType = "implicit" }, domain.ErrUnsupportedGrantType},
		"grant not registered": {func(r *app.TokenRequest) { r.GrantType = "client_credentials" }, domain.ErrUnauthorizedClient},
	} {
		require.Equal(t, tc.code, oauthCode(t, exchange(tc.mutate)), name)
	}

	// An expired code.
	code := f.authorize(t, f.native, "http://127.0.0.1:7777/cb", "")
	f.clk.Add(time.Minute)
	_, err := f.svc.Token(ctx, app.TokenRequest{GrantType: "authorization_code", ClientID: f.native.Client.ID, Code: code,
		RedirectURI: "http://127.0.0.1:7777/cb", CodeVerifier: verifier})
	require.Equal(t, domain.ErrInvalidGrant, oauthCode(t, err))
}

func TestCheckAuthorize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	good := app.AuthorizeRequest{ResponseType: "code", ClientID: f.web.Client.ID, RedirectURI: "https://web.example.com/cb",
		State: "s", CodeChallenge: challenge(verifier), CodeChallengeMethod: "S256"}
	_, err := f.svc.CheckAuthorize(ctx, good)
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		mutate   func(*app.AuthorizeRequest)
		code     string
		redirect bool
	}{
		"unknown client":        {func(r *app.AuthorizeRequest) { r.ClientID = "ghost" }, domain.ErrInvalidClient, false},
		"redirect mismatch":     {func(r *app.AuthorizeRequest) { r.RedirectURI = "https://web.example.com/cb2" }, domain.ErrInvalidRequest, false},
		"redirect prefix":       {func(r *app.AuthorizeRequest) { r.RedirectURI = "https://web.example.com/cb/../evil" }, domain.ErrInvalidRequest, false},
		"token response type":   {func(r *app.AuthorizeRequest) { r.ResponseType = "token" }, domain.ErrUnsupportedRespType, true},
		"no PKCE":               {func(r *app.AuthorizeRequest) { r.CodeChallenge = "" }, domain.ErrInvalidRequest, true},
		"plain PKCE":            {func(r *app.AuthorizeRequest) { r.CodeChallengeMethod = "plain" }, domain.ErrInvalidRequest, true},
		"scope beyond client":   {func(r *app.AuthorizeRequest) { r.Scope = "jobs:admin" }, domain.ErrInvalidScope, true},
		"client without code":   {func(r *app.AuthorizeRequest) { r.ClientID = f.robot.Client.ID }, domain.ErrInvalidRequest, false},
		"malformed scope token": {func(r *app.AuthorizeRequest) { r.Scope = `a"b` }, domain.ErrInvalidScope, true},
	} {
		r := good
		tc.mutate(&r)
		_, err := f.svc.CheckAuthorize(ctx, r)
		var ae *app.AuthorizeError
		require.ErrorAs(t, err, &ae, name)
		require.Equal(t, tc.code, ae.Code, name)
		require.Equal(t, tc.redirect, ae.Redirect, name)
	}
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	res, err := f.svc.Token(ctx, app.TokenRequest{GrantType: "client_credentials", ClientID: f.robot.Client.ID, ClientSecret: f.robot.Secret, Scope: "resources:read"})
	require.NoError(t, err)
	require.Empty(t, res.RefreshToken, "no refresh token for client_credentials")
	require.Equal(t, 15*time.Minute, res.ExpiresIn)
	p, err := f.svc.Authenticate(ctx, res.AccessToken)
	require.NoError(t, err)
	require.Empty(t, p.UserID)
	require.Equal(t, f.robot.Client.ID, p.ClientID)
	require.Equal(t, []string{"resources:read"}, p.Scopes)
	_, err = f.svc.Me(ctx, p)
	require.Error(t, err, "a service token has no user")

	_, err = f.svc.Token(ctx, app.TokenRequest{GrantType: "client_credentials", ClientID: f.robot.Client.ID, ClientSecret: "wrong"})
	require.Equal(t, domain.ErrInvalidClient, oauthCode(t, err))
	_, err = f.svc.Token(ctx, app.TokenRequest{GrantType: "client_credentials", ClientID: f.robot.Client.ID, ClientSecret: f.robot.Secret, Scope: "users:admin"})
	require.Equal(t, domain.ErrInvalidScope, oauthCode(t, err))
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	code := f.authorize(t, f.native, "http://127.0.0.1:7777/cb", "")
	first, err := f.svc.Token(ctx, app.TokenRequest{GrantType: "authorization_code", ClientID: f.native.Client.ID, Code: code,
		RedirectURI: "http://127.0.0.1:7777/cb", CodeVerifier: verifier})
	require.NoError(t, err)
	refresh := func(tok string) (app.TokenResponse, error) {
		return f.svc.Token(ctx, app.TokenRequest{GrantType: "refresh_token", ClientID: f.native.Client.ID, RefreshToken: tok})
	}
	second, err := refresh(first.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, first.RefreshToken, second.RefreshToken, "refresh tokens rotate")
	third, err := refresh(second.RefreshToken)
	require.NoError(t, err)

	// Replaying a spent token revokes the family, including the live one.
	_, err = refresh(first.RefreshToken)
	require.Equal(t, domain.ErrInvalidGrant, oauthCode(t, err))
	_, err = refresh(third.RefreshToken)
	require.Equal(t, domain.ErrInvalidGrant, oauthCode(t, err), "the family is revoked")
}

func TestRefreshCannotWidenScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	code := f.authorize(t, f.web, "https://web.example.com/cb", "resources:read")
	tok, err := f.svc.Token(ctx, app.TokenRequest{GrantType: "authorization_code", ClientID: f.web.Client.ID, ClientSecret: f.web.Secret,
		Code: code, RedirectURI: "https://web.example.com/cb", CodeVerifier: verifier})
	require.NoError(t, err)
	_, err = f.svc.Token(ctx, app.TokenRequest{GrantType: "refresh_token", ClientID: f.web.Client.ID, ClientSecret: f.web.Secret,
		RefreshToken: tok.RefreshToken, Scope: "resources:read search:read"})
	require.Equal(t, domain.ErrInvalidScope, oauthCode(t, err))
	// A failed refresh does not spend the token.
	_, err = f.svc.Token(ctx, app.TokenRequest{GrantType: "refresh_token", ClientID: f.web.Client.ID, ClientSecret: f.web.Secret, RefreshToken: tok.RefreshToken})
	require.NoError(t, err)
}

func TestKeyRotationKeepsOldTokensValid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	cc := app.TokenRequest{GrantType: "client_credentials", ClientID: f.robot.Client.ID, ClientSecret: f.robot.Secret}
	before, err := f.svc.Token(ctx, cc)
	require.NoError(t, err)
	oldKeys, err := f.svc.PublishedKeys(ctx)
	require.NoError(t, err)
	require.Len(t, oldKeys, 1)

	newKey, err := f.svc.RotateKeys(ctx)
	require.NoError(t, err)
	after, err := f.svc.Token(ctx, cc)
	require.NoError(t, err)
	keys, err := f.svc.PublishedKeys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 2, "the old key stays published")
	require.Equal(t, newKey.ID, keys[0].ID)

	for _, tok := range []string{before.AccessToken, after.AccessToken} {
		_, err := f.svc.Authenticate(ctx, tok)
		require.NoError(t, err)
	}
	// Once every token the old key signed has expired, it leaves the JWKS.
	f.clk.Add(20 * time.Minute)
	keys, err = f.svc.PublishedKeys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	_, err = f.svc.Authenticate(ctx, before.AccessToken)
	require.ErrorIs(t, err, domain.ErrUnauthenticated)
}

func TestScheduledRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	rotated, err := f.svc.MaybeRotateKeys(ctx)
	require.NoError(t, err)
	require.False(t, rotated, "a fresh key is not rotated")
	f.clk.Add(31 * 24 * time.Hour)
	rotated, err = f.svc.MaybeRotateKeys(ctx)
	require.NoError(t, err)
	require.True(t, rotated)
}

func TestAccessTokenForgeries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	res, err := f.svc.Token(ctx, app.TokenRequest{GrantType: "client_credentials", ClientID: f.robot.Client.ID, ClientSecret: f.robot.Secret})
	require.NoError(t, err)
	parts := strings.Split(res.AccessToken, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	for name, tok := range map[string]string{
		"alg none":          b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"alg none with kid": b64([]byte(`{"alg":"none","kid":"x"}`)) + "." + parts[1] + "." + parts[2],
		"HS256 confusion":   b64([]byte(`{"alg":"HS256","kid":"x"}`)) + "." + parts[1] + "." + parts[2],
		"tampered payload":  parts[0] + "." + b64([]byte(`{"sub":"admin","aud":["lattice"],"iss":"https://auth.test","exp":9999999999,"scope":"users:admin"}`)) + "." + parts[2],
		"tampered sig":      parts[0] + "." + parts[1] + "." + b64([]byte(strings.Repeat("A", 64))),
		"unknown kid":       b64([]byte(`{"alg":"EdDSA","kid":"nope"}`)) + "." + parts[1] + "." + parts[2],
		"garbage":           "a.b.c",
	} {
		_, err := f.svc.Authenticate(ctx, tok)
		require.ErrorIs(t, err, domain.ErrUnauthenticated, name)
	}
	f.clk.Add(16 * time.Minute)
	_, err = f.svc.Authenticate(ctx, res.AccessToken)
	require.ErrorIs(t, err, domain.ErrUnauthenticated, "expired")
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	ns, err := f.svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: pw})
	require.NoError(t, err)
	p, err := f.svc.Authenticate(ctx, ns.Token)
	require.NoError(t, err)

	_, err = f.svc.CreateAPIKey(ctx, p, app.APIKeyInput{Name: "too much", Scopes: []string{"users:admin"}})
	require.Error(t, err, "cannot grant a scope the user lacks")

	nk, err := f.svc.CreateAPIKey(ctx, p, app.APIKeyInput{Name: "ci", Scopes: []string{"resources:read"}, ExpiresAt: f.clk.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(nk.Secret, "ltk_"))
	require.Equal(t, nk.Secret[:12], nk.Key.Prefix)

	kp, err := f.svc.Authenticate(ctx, nk.Secret)
	require.NoError(t, err)
	require.Equal(t, f.user.ID, kp.UserID)
	require.Equal(t, []string{"resources:read"}, kp.Scopes)

	in, err := f.svc.Introspect(ctx, f.robot.Client.ID, f.robot.Secret, nk.Secret)
	require.NoError(t, err)
	require.True(t, in.Active)
	require.Equal(t, f.user.ID, in.Subject)
	require.Equal(t, "api_key", in.TokenType)

	_, err = f.svc.Introspect(ctx, f.native.Client.ID, "", nk.Secret)
	require.Equal(t, domain.ErrInvalidClient, oauthCode(t, err), "public clients may not introspect")

	require.NoError(t, f.svc.RevokeAPIKey(ctx, p, nk.Key.ID))
	_, err = f.svc.Authenticate(ctx, nk.Secret)
	require.ErrorIs(t, err, domain.ErrUnauthenticated)
	in, err = f.svc.Introspect(ctx, f.robot.Client.ID, f.robot.Secret, nk.Secret)
	require.NoError(t, err)
	require.False(t, in.Active)

	expiring, err := f.svc.CreateAPIKey(ctx, p, app.APIKeyInput{Name: "short", Scopes: []string{"search:read"}, ExpiresAt: f.clk.Now().Add(time.Minute)})
	require.NoError(t, err)
	f.clk.Add(time.Minute)
	_, err = f.svc.Authenticate(ctx, expiring.Secret)
	require.ErrorIs(t, err, domain.ErrUnauthenticated)

	keys, err := f.svc.ListAPIKeys(ctx, p)
	require.NoError(t, err)
	require.Len(t, keys, 2)
}

func TestRevokeRefreshToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	code := f.authorize(t, f.native, "http://127.0.0.1:7777/cb", "")
	tok, err := f.svc.Token(ctx, app.TokenRequest{GrantType: "authorization_code", ClientID: f.native.Client.ID, Code: code,
		RedirectURI: "http://127.0.0.1:7777/cb", CodeVerifier: verifier})
	require.NoError(t, err)

	in, err := f.svc.Introspect(ctx, f.robot.Client.ID, f.robot.Secret, tok.RefreshToken)
	require.NoError(t, err)
	require.True(t, in.Active)

	require.NoError(t, f.svc.Revoke(ctx, f.web.Client.ID, f.web.Secret, tok.RefreshToken), "another client's token: accepted, ignored")
	in, err = f.svc.Introspect(ctx, f.robot.Client.ID, f.robot.Secret, tok.RefreshToken)
	require.NoError(t, err)
	require.True(t, in.Active)

	require.NoError(t, f.svc.Revoke(ctx, f.native.Client.ID, "", tok.RefreshToken))
	in, err = f.svc.Introspect(ctx, f.robot.Client.ID, f.robot.Secret, tok.RefreshToken)
	require.NoError(t, err)
	require.False(t, in.Active)
	require.NoError(t, f.svc.Revoke(ctx, f.native.Client.ID, "", "garbage"), "unknown tokens are accepted silently")
}

func TestIntrospectSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupOAuth(t)
	ns, err := f.svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: pw})
	require.NoError(t, err)
	in, err := f.svc.Introspect(ctx, f.robot.Client.ID, f.robot.Secret, ns.Token)
	require.NoError(t, err)
	require.True(t, in.Active)
	require.Equal(t, "session", in.TokenType)
	require.Equal(t, f.user.ID, in.Subject)
	require.Contains(t, in.Scopes, "resources:read")

	p, err := f.svc.Authenticate(ctx, ns.Token)
	require.NoError(t, err)
	require.NoError(t, f.svc.Logout(ctx, p))
	in, err = f.svc.Introspect(ctx, f.robot.Client.ID, f.robot.Secret, ns.Token)
	require.NoError(t, err)
	require.False(t, in.Active, "a logged-out session is inactive")
}

// TestTheConfiguredServiceClientIsRegisteredOnce checks what auth does at
// start when services run apart with a shared service client: the client
// is registered, a restart with the same secret changes nothing (no new
// audit record), and a new secret replaces the old one.
func TestTheConfiguredServiceClientIsRegisteredOnce(t *testing.T) {
	ctx := context.Background()
	svc, _, outbox := setupWithOutbox(t)
	token := func(secret string) error {
		_, err := svc.Token(ctx, app.TokenRequest{GrantType: "client_credentials", ClientID: "workers", ClientSecret: secret, Scope: "resources:admin"})
		return err
	}
	require.Error(t, token("first-secret"), "not registered yet")
	require.NoError(t, svc.EnsureServiceClient(ctx, "workers", "first-secret"))
	require.NoError(t, token("first-secret"))
	audited := len(outbox.Events())
	require.NoError(t, svc.EnsureServiceClient(ctx, "workers", "first-secret"), "a restart")
	require.Len(t, outbox.Events(), audited, "nothing changed, nothing recorded")

	require.NoError(t, svc.EnsureServiceClient(ctx, "workers", "second-secret"), "the secret rotated")
	require.Error(t, token("first-secret"))
	require.NoError(t, token("second-secret"))
	require.Len(t, outbox.Events(), audited+1)

	require.Error(t, svc.EnsureServiceClient(ctx, "workers", ""), "an empty secret is refused")
}

// awaySessions is a session store that cannot answer while away is set,
// as Redis while it restarts.
type awaySessions struct {
	app.SessionStore
	away atomic.Bool
}

func (s *awaySessions) ByTokenHash(ctx context.Context, hash []byte, now time.Time) (domain.Session, error) {
	if s.away.Load() {
		return domain.Session{}, fault.New(fault.Unavailable, "the session store is unavailable")
	}
	return s.SessionStore.ByTokenHash(ctx, hash, now)
}

// TestIntrospectionFailsClosedWithAnErrorWhenTheStoreIsAway: a session
// that cannot be looked up is neither active nor reported inactive (which
// would tell the caller to discard it): introspection fails with
// Unavailable, and an unknown token is still merely inactive.
func TestIntrospectionFailsClosedWithAnErrorWhenTheStoreIsAway(t *testing.T) {
	ctx := context.Background()
	sessions := &awaySessions{SessionStore: fake.NewSessionStore()}
	svc, _, _ := setupWith(t, app.Options{}, sessions)
	u := signUp(t, svc, "away@example.com")
	sess, err := svc.Login(ctx, app.LoginInput{Email: u.Email, Password: pw, IP: "10.0.0.1"})
	require.NoError(t, err)
	robot, err := svc.RegisterClient(ctx, app.ClientInput{Name: "Robot", Type: domain.ClientConfidential,
		GrantTypes: []string{domain.GrantClientCredentials}, Scopes: []string{"resources:read"}})
	require.NoError(t, err)

	in, err := svc.Introspect(ctx, robot.Client.ID, robot.Secret, sess.Token)
	require.NoError(t, err)
	require.True(t, in.Active)

	sessions.away.Store(true)
	_, err = svc.Introspect(ctx, robot.Client.ID, robot.Secret, sess.Token)
	require.True(t, fault.Of(err, fault.Unavailable), "%v", err)
	_, err = svc.Authenticate(ctx, sess.Token)
	require.True(t, fault.Of(err, fault.Unavailable), "authentication fails closed with 503, not 401: %v", err)

	sessions.away.Store(false)
	in, err = svc.Introspect(ctx, robot.Client.ID, robot.Secret, domain.SessionTokenPrefix+"unknown")
	require.NoError(t, err)
	require.False(t, in.Active, "an unknown session is inactive")
}
