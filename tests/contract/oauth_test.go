package contract_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/lattice-platform/lattice/pkg/platform/clientaddr"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
	"github.com/lattice-platform/lattice/services/auth/oapi"
)

// stepClock is a clock tests move forward by hand.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func newStepClock() *stepClock { return &stepClock{t: time.Now().UTC().Truncate(time.Microsecond)} }

func (c *stepClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// oauthEnv is an auth service with an admin and three registered clients,
// created through the admin API.
type oauthEnv struct {
	*authEnv
	adminToken, userToken string
	web                   oapi.ClientCreated // confidential: authorization_code + refresh_token
	native                oapi.ClientCreated // public: authorization_code + refresh_token
	robot                 oapi.ClientCreated // confidential: client_credentials
}

const webRedirect = "https://web.example.com/callback"

func startOAuth(t *testing.T, opts ...authOption) *oauthEnv {
	t.Helper()
	ctx := context.Background()
	e := &oauthEnv{authEnv: startAuth(t, opts...)}
	_, err := e.svc.App.CreateAdmin(ctx, app.SignUpInput{Email: "root@example.com", Password: password, DisplayName: "Root"})
	require.NoError(t, err)
	login, err := e.client.CreateSessionWithResponse(ctx, oapi.CreateSessionJSONRequestBody{Email: "root@example.com", Password: password})
	require.NoError(t, err)
	e.adminToken = login.JSON201.Token
	_, e.userToken = e.signUpAndLogin(t, "ada@example.com")

	register := func(body oapi.CreateClientJSONRequestBody) oapi.ClientCreated {
		res, err := e.client.CreateClientWithResponse(ctx, body, bearer(e.adminToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
		return *res.JSON201
	}
	code, refresh, cc := oapi.AuthorizationCode, oapi.RefreshToken, oapi.ClientCredentials
	e.web = register(oapi.CreateClientJSONRequestBody{Name: "Web", Type: oapi.ClientCreateRequestTypeConfidential,
		RedirectUris: &[]string{webRedirect}, GrantTypes: []oapi.ClientCreateRequestGrantTypes{code, refresh},
		Scopes: &[]string{"users:read", "resources:read", "search:read"}})
	e.native = register(oapi.CreateClientJSONRequestBody{Name: "CLI", Type: oapi.ClientCreateRequestTypePublic,
		RedirectUris: &[]string{"http://127.0.0.1:53682/callback"}, GrantTypes: []oapi.ClientCreateRequestGrantTypes{code, refresh},
		Scopes: &[]string{"users:read"}})
	e.robot = register(oapi.CreateClientJSONRequestBody{Name: "Indexer", Type: oapi.ClientCreateRequestTypeConfidential,
		GrantTypes: []oapi.ClientCreateRequestGrantTypes{cc}, Scopes: &[]string{"resources:read", "search:read"}})
	require.NotNil(t, e.web.ClientSecret)
	require.Nil(t, e.native.ClientSecret)
	return e
}

// signIn fills in the authorization page's login form (testinfra.SignIn).
func (e *oauthEnv) signIn(t *testing.T, b *http.Client, authURL, email, pw string) *url.URL {
	t.Helper()
	return testinfra.SignIn(t, b, authURL, e.url+"/oauth2/authorize", email, pw)
}

// discover reads the RFC 8414 document the way a stock client would.
func discover(t *testing.T, issuer string) oapi.ServerMetadata {
	t.Helper()
	resp, err := http.Get(issuer + "/.well-known/oauth-authorization-server")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var md oapi.ServerMetadata
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
	return md
}

// TestStockOAuth2ClientUsingDiscovery has golang.org/x/oauth2, a stock
// client library, complete authorization code + PKCE and client
// credentials, knowing nothing but the issuer URL.
func TestStockOAuth2ClientUsingDiscovery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startOAuth(t)
	md := discover(t, e.url)
	require.Equal(t, e.url, md.Issuer)
	require.Equal(t, []string{"S256"}, md.CodeChallengeMethodsSupported)
	require.NotContains(t, md.GrantTypesSupported, "implicit")
	require.NotContains(t, md.GrantTypesSupported, "password")

	cfg := oauth2.Config{
		ClientID: e.web.Client.ClientId, ClientSecret: *e.web.ClientSecret, RedirectURL: webRedirect,
		Endpoint: oauth2.Endpoint{AuthURL: md.AuthorizationEndpoint, TokenURL: md.TokenEndpoint},
		Scopes:   []string{"users:read", "resources:read"},
	}
	verifier := oauth2.GenerateVerifier()
	b := testinfra.Browser()
	back := e.signIn(t, b, cfg.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier)), "ada@example.com", password)
	require.Equal(t, webRedirect, back.Scheme+"://"+back.Host+back.Path)
	require.Equal(t, "state-123", back.Query().Get("state"))
	require.Equal(t, e.url, back.Query().Get("iss"))

	tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	require.NotEmpty(t, tok.RefreshToken)
	require.Equal(t, "users:read resources:read", tok.Extra("scope"))

	me, err := e.client.GetMeWithResponse(ctx, bearer(tok.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode())
	require.Equal(t, "ada@example.com", me.JSON200.Email)

	// The library refreshes an expired token by itself; the refresh token rotates.
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(ctx, tok).Token()
	require.NoError(t, err)
	require.NotEqual(t, tok.AccessToken, fresh.AccessToken)
	require.NotEqual(t, tok.RefreshToken, fresh.RefreshToken)

	// A second authorization in the same browser skips the form.
	again := e.signIn(t, b, cfg.AuthCodeURL("state-2", oauth2.S256ChallengeOption(verifier)), "", "")
	require.NotEmpty(t, again.Query().Get("code"))

	cc := clientcredentials.Config{ClientID: e.robot.Client.ClientId, ClientSecret: *e.robot.ClientSecret,
		TokenURL: md.TokenEndpoint, Scopes: []string{"search:read"}}
	svcTok, err := cc.Token(ctx)
	require.NoError(t, err)
	require.Empty(t, svcTok.RefreshToken)
	require.Equal(t, "search:read", svcTok.Extra("scope"))
}

// tokenCall posts a form to the token endpoint (optionally with Basic
// client authentication) and decodes the answer.
func (e *oauthEnv) tokenCall(t *testing.T, form url.Values, basicID, basicSecret string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/oauth2/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := (&http.Client{Transport: e.transport}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	return resp.StatusCode, body, resp.Header
}

func pkcePair() (verifier, challenge string) {
	verifier = oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func (e *oauthEnv) nativeCode(t *testing.T, challenge string) string {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {e.native.Client.ClientId}, "redirect_uri": {"http://127.0.0.1:53682/callback"},
		"state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	loc := e.signIn(t, testinfra.Browser(), e.url+"/oauth2/authorize?"+q.Encode(), "ada@example.com", password)
	require.NotEmpty(t, loc.Query().Get("code"), loc.String())
	return loc.Query().Get("code")
}

// TestOAuthNegativeCases checks that each misuse is refused with the error
// code its RFC names.
func TestOAuthNegativeCases(t *testing.T) {
	t.Parallel()
	e := startOAuth(t)
	native := e.native.Client.ClientId
	redirect := "http://127.0.0.1:53682/callback"
	exchange := func(code, verifier, redirectURI string) (int, map[string]any) {
		status, body, _ := e.tokenCall(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {native}, "code": {code},
			"code_verifier": {verifier}, "redirect_uri": {redirectURI}}, "", "")
		return status, body
	}

	t.Run("missing PKCE verifier", func(t *testing.T) {
		_, ch := pkcePair()
		status, body := exchange(e.nativeCode(t, ch), "", redirect)
		require.Equal(t, 400, status)
		require.Equal(t, "invalid_request", body["error"])
	})
	t.Run("wrong PKCE verifier", func(t *testing.T) {
		_, ch := pkcePair()
		other, _ := pkcePair()
		status, body := exchange(e.nativeCode(t, ch), other, redirect)
		require.Equal(t, 400, status)
		require.Equal(t, "invalid_grant", body["error"])
	})
	t.Run("redirect URI mismatch at the token endpoint", func(t *testing.T) {
		v, ch := pkcePair()
		status, body := exchange(e.nativeCode(t, ch), v, "http://127.0.0.1:53682/other")
		require.Equal(t, 400, status)
		require.Equal(t, "invalid_grant", body["error"])
	})
	t.Run("redirect URI mismatch at the authorization endpoint is shown, not followed", func(t *testing.T) {
		_, ch := pkcePair()
		q := url.Values{"response_type": {"code"}, "client_id": {native}, "redirect_uri": {"http://127.0.0.1:53682/callback/evil"},
			"code_challenge": {ch}, "code_challenge_method": {"S256"}}
		resp, err := testinfra.Browser().Get(e.url + "/oauth2/authorize?" + q.Encode())
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Empty(t, resp.Header.Get("Location"))
	})
	t.Run("authorization request without PKCE is sent back with invalid_request", func(t *testing.T) {
		q := url.Values{"response_type": {"code"}, "client_id": {native}, "redirect_uri": {redirect}, "state": {"st"}}
		resp, err := testinfra.Browser().Get(e.url + "/oauth2/authorize?" + q.Encode())
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, "invalid_request", loc.Query().Get("error"))
		require.Equal(t, "st", loc.Query().Get("state"))
	})
	t.Run("code reuse", func(t *testing.T) {
		v, ch := pkcePair()
		code := e.nativeCode(t, ch)
		status, first := exchange(code, v, redirect)
		require.Equal(t, 200, status)
		status, body := exchange(code, v, redirect)
		require.Equal(t, 400, status)
		require.Equal(t, "invalid_grant", body["error"])
		status, body, _ = e.tokenCall(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {native},
			"refresh_token": {first["refresh_token"].(string)}}, "", "")
		require.Equal(t, 400, status)
		require.Equal(t, "invalid_grant", body["error"], "tokens from a replayed code are revoked")
	})
	t.Run("refresh token reuse revokes the family", func(t *testing.T) {
		v, ch := pkcePair()
		_, first := exchange(e.nativeCode(t, ch), v, redirect)
		refresh := func(tok string) (int, map[string]any) {
			status, body, _ := e.tokenCall(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {native}, "refresh_token": {tok}}, "", "")
			return status, body
		}
		status, second := refresh(first["refresh_token"].(string))
		require.Equal(t, 200, status)
		status, body := refresh(first["refresh_token"].(string))
		require.Equal(t, 400, status)
		require.Equal(t, "invalid_grant", body["error"])
		status, body = refresh(second["refresh_token"].(string))
		require.Equal(t, 400, status, "the newest token of the family is revoked too")
		require.Equal(t, "invalid_grant", body["error"])
	})
	t.Run("unknown client", func(t *testing.T) {
		status, body, hdr := e.tokenCall(t, url.Values{"grant_type": {"client_credentials"}}, "ghost", "secret")
		require.Equal(t, 401, status)
		require.Equal(t, "invalid_client", body["error"])
		require.Contains(t, hdr.Get("WWW-Authenticate"), "Basic")
	})
	t.Run("wrong client secret", func(t *testing.T) {
		status, body, _ := e.tokenCall(t, url.Values{"grant_type": {"client_credentials"}}, e.robot.Client.ClientId, "lcs_wrong")
		require.Equal(t, 401, status)
		require.Equal(t, "invalid_client", body["error"])
	})
	t.Run("unsupported and removed grants", func(t *testing.T) {
		for _, g := range []string{"password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"} {
			status, body, _ := e.tokenCall(t, url.Values{"grant_type": {g}}, e.robot.Client.ClientId, *e.robot.ClientSecret)
			require.Equal(t, 400, status, g)
			require.Equal(t, "unsupported_grant_type", body["error"], g)
		}
	})
	t.Run("scope beyond the client", func(t *testing.T) {
		status, body, _ := e.tokenCall(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"users:admin"}}, e.robot.Client.ClientId, *e.robot.ClientSecret)
		require.Equal(t, 400, status)
		require.Equal(t, "invalid_scope", body["error"])
	})
}

// TestAccessTokenRejections presents bad access tokens to a protected
// endpoint and to introspection.
func TestAccessTokenRejections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newStepClock()
	e := startOAuth(t, func(c *authsvc.Config) { c.Clock = clk })
	status, body, _ := e.tokenCall(t, url.Values{"grant_type": {"client_credentials"}}, e.robot.Client.ClientId, *e.robot.ClientSecret)
	require.Equal(t, 200, status)
	good := body["access_token"].(string)

	// A second instance on the same database signs with the same keys but
	// for another audience.
	other := startAuth(t, func(c *authsvc.Config) { c.DatabaseURL = e.dsn; c.Audience = "billing"; c.Clock = clk })
	status, body, _ = other.oauth(t).tokenCall(t, url.Values{"grant_type": {"client_credentials"}}, e.robot.Client.ClientId, *e.robot.ClientSecret)
	require.Equal(t, 200, status)
	wrongAudience := body["access_token"].(string)

	parts := strings.Split(good, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	bad := map[string]string{
		"alg none":           b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"tampered signature": parts[0] + "." + parts[1] + "." + b64(make([]byte, 64)),
		"tampered payload":   parts[0] + "." + b64([]byte(`{"sub":"x","aud":["lattice"],"exp":9999999999}`)) + "." + parts[2],
		"wrong audience":     wrongAudience,
	}
	introspect := func(tok string) bool {
		form := url.Values{"token": {tok}}
		req, err := http.NewRequest(http.MethodPost, e.url+"/oauth2/introspect", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(e.robot.Client.ClientId, *e.robot.ClientSecret)
		resp, err := (&http.Client{Transport: e.transport}).Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		var in oapi.Introspection
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&in))
		return in.Active
	}
	require.True(t, introspect(good))
	for name, tok := range bad {
		res, err := e.client.ListAPIKeysWithResponse(ctx, bearer(tok))
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, res.StatusCode(), name)
		require.False(t, introspect(tok), name)
	}
	clk.Add(16 * time.Minute)
	require.False(t, introspect(good), "expired")
	res, err := e.client.GetMeWithResponse(ctx, bearer(good))
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode(), "expired")
}

func (e *authEnv) oauth(*testing.T) *oauthEnv { return &oauthEnv{authEnv: e} }

// TestKeyRotationOverHTTP rotates the signing key through the admin API:
// tokens signed before stay valid, and the JWKS carries both keys.
func TestKeyRotationOverHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startOAuth(t)
	status, body, _ := e.tokenCall(t, url.Values{"grant_type": {"client_credentials"}}, e.robot.Client.ClientId, *e.robot.ClientSecret)
	require.Equal(t, 200, status)
	before := body["access_token"].(string)

	denied, err := e.client.RotateSigningKeyWithResponse(ctx, bearer(e.userToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, denied.StatusCode())
	rot, err := e.client.RotateSigningKeyWithResponse(ctx, bearer(e.adminToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, rot.StatusCode())

	jwks, err := e.client.JwksWithResponse(ctx)
	require.NoError(t, err)
	require.Len(t, jwks.JSON200.Keys, 2)
	require.Equal(t, rot.JSON201.Kid, jwks.JSON200.Keys[0].Kid)
	require.Equal(t, "EdDSA", *jwks.JSON200.Keys[0].Alg)

	status, body, _ = e.tokenCall(t, url.Values{"grant_type": {"client_credentials"}}, e.robot.Client.ClientId, *e.robot.ClientSecret)
	require.Equal(t, 200, status)
	after := body["access_token"].(string)
	for _, tok := range []string{before, after} {
		_, err := e.svc.App.Authenticate(ctx, tok)
		require.NoError(t, err)
	}
}

// TestAPIKeysOverHTTP creates, uses, lists and revokes an API key.
func TestAPIKeysOverHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startOAuth(t)
	created, err := e.client.CreateAPIKeyWithResponse(ctx, oapi.CreateAPIKeyJSONRequestBody{Name: "ci", Scopes: []string{"users:read"}}, bearer(e.userToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
	secret := created.JSON201.Secret
	require.True(t, strings.HasPrefix(secret, "ltk_"))

	me, err := e.client.GetMeWithResponse(ctx, bearer(secret))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode())

	tooMuch, err := e.client.CreateAPIKeyWithResponse(ctx, oapi.CreateAPIKeyJSONRequestBody{Name: "x", Scopes: []string{"users:admin"}}, bearer(e.userToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, tooMuch.StatusCode())

	list, err := e.client.ListAPIKeysWithResponse(ctx, bearer(e.userToken))
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
	require.Equal(t, secret[:12], list.JSON200.Items[0].Prefix)
	require.NotContains(t, string(list.Body), secret, "the secret is never shown again")

	rev, err := e.client.RevokeAPIKeyWithResponse(ctx, created.JSON201.ApiKey.Id, bearer(e.userToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, rev.StatusCode())
	gone, err := e.client.GetMeWithResponse(ctx, bearer(secret))
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, gone.StatusCode())
}

// TestClientAdministration lists and deletes clients and checks the
// admin scope.
func TestClientAdministration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startOAuth(t)
	denied, err := e.client.ListClientsWithResponse(ctx, bearer(e.userToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, denied.StatusCode())
	list, err := e.client.ListClientsWithResponse(ctx, bearer(e.adminToken))
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 3)
	del, err := e.client.DeleteClientWithResponse(ctx, e.robot.Client.ClientId, bearer(e.adminToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	status, body, _ := e.tokenCall(t, url.Values{"grant_type": {"client_credentials"}}, e.robot.Client.ClientId, *e.robot.ClientSecret)
	require.Equal(t, 401, status)
	require.Equal(t, "invalid_client", body["error"])
	bad, err := e.client.CreateClientWithResponse(ctx, oapi.CreateClientJSONRequestBody{Name: "Bad", Type: oapi.ClientCreateRequestTypePublic,
		GrantTypes: []oapi.ClientCreateRequestGrantTypes{oapi.ClientCredentials}}, bearer(e.adminToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, bad.StatusCode())
}

func withBasic(id, secret string) oapi.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		return nil
	}
}

func withCookies(cookies []*http.Cookie) oapi.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		for _, c := range cookies {
			req.AddCookie(c)
		}
		return nil
	}
}

// TestOAuthEndpointsThroughGeneratedClient drives every OAuth operation
// through the generated client, so each request and response is checked
// against openapi/auth.yaml.
func TestOAuthEndpointsThroughGeneratedClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startOAuth(t)

	md, err := e.client.MetadataWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, md.StatusCode())
	require.Equal(t, e.url+"/oauth2/token", md.JSON200.TokenEndpoint)

	verifier, challenge := pkcePair()
	params := &oapi.AuthorizeParams{ResponseType: ptr("code"), ClientId: &e.web.Client.ClientId, RedirectUri: ptr(webRedirect),
		Scope: ptr("users:read"), State: ptr("st-1"), CodeChallenge: &challenge, CodeChallengeMethod: ptr("S256")}
	form, err := e.client.AuthorizeWithResponse(ctx, params)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, form.StatusCode())
	require.Contains(t, form.HTTPResponse.Header.Get("Content-Type"), "text/html")
	m := testinfra.CSRFField.FindSubmatch(form.Body)
	require.NotNil(t, m)

	login := oapi.AuthorizeLoginFormdataRequestBody{Email: ptr("ada@example.com"), Password: ptr(password), CsrfToken: ptr(string(m[1])),
		ResponseType: params.ResponseType, ClientId: params.ClientId, RedirectUri: params.RedirectUri, Scope: params.Scope,
		State: params.State, CodeChallenge: params.CodeChallenge, CodeChallengeMethod: params.CodeChallengeMethod}
	noCSRF, err := e.client.AuthorizeLoginWithFormdataBodyWithResponse(ctx, login)
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, noCSRF.StatusCode(), "a post without the CSRF cookie is refused")

	wrong := login
	wrong.Password = ptr("not the password")
	again, err := e.client.AuthorizeLoginWithFormdataBodyWithResponse(ctx, wrong, withCookies(form.HTTPResponse.Cookies()))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, again.StatusCode())
	require.Contains(t, string(again.Body), "Email or password is incorrect")

	// Failed logins through the form lock the account as the API's do.
	e.signUpAndLogin(t, "dave-form@example.com")
	guess := login
	guess.Email, guess.Password = ptr("dave-form@example.com"), ptr("not the password")
	var locked *oapi.AuthorizeLoginResponse
	for range 5 {
		locked, err = e.client.AuthorizeLoginWithFormdataBodyWithResponse(ctx, guess, withCookies(form.HTTPResponse.Cookies()))
		require.NoError(t, err)
	}
	require.Equal(t, http.StatusTooManyRequests, locked.StatusCode(), string(locked.Body))

	done, err := e.client.AuthorizeLoginWithFormdataBodyWithResponse(ctx, login, withCookies(form.HTTPResponse.Cookies()))
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, done.StatusCode(), string(done.Body))
	back, err := url.Parse(done.HTTPResponse.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "st-1", back.Query().Get("state"))
	var session *http.Cookie
	for _, c := range done.HTTPResponse.Cookies() {
		if c.Name == "lattice_session" {
			session = c
		}
	}
	require.NotNil(t, session)
	require.True(t, session.HttpOnly)
	require.Equal(t, "/", session.Path)
	require.False(t, session.Secure, "plain HTTP here: a Secure cookie would never come back")

	// The login cookie is a credential of the authorization endpoint only:
	// replayed as a bearer token, no API accepts it.
	me, err := e.client.GetMeWithResponse(ctx, func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+session.Value)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, me.StatusCode(), "the browser's login cookie is not a bearer token")

	tok, err := e.client.TokenWithFormdataBodyWithResponse(ctx, oapi.TokenFormdataRequestBody{GrantType: ptr("authorization_code"),
		Code: ptr(back.Query().Get("code")), RedirectUri: ptr(webRedirect), CodeVerifier: &verifier}, withBasic(e.web.Client.ClientId, *e.web.ClientSecret))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, tok.StatusCode(), string(tok.Body))
	require.Equal(t, oapi.Bearer, tok.JSON200.TokenType)
	require.Equal(t, 900, tok.JSON200.ExpiresIn)

	robot := withBasic(e.robot.Client.ClientId, *e.robot.ClientSecret)
	in, err := e.client.IntrospectWithFormdataBodyWithResponse(ctx, oapi.IntrospectFormdataRequestBody{Token: &tok.JSON200.AccessToken}, robot)
	require.NoError(t, err)
	require.True(t, in.JSON200.Active)
	require.Equal(t, "users:read", *in.JSON200.Scope)

	rev, err := e.client.RevokeWithFormdataBodyWithResponse(ctx, oapi.RevokeFormdataRequestBody{Token: tok.JSON200.RefreshToken},
		withBasic(e.web.Client.ClientId, *e.web.ClientSecret))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, rev.StatusCode())
	in, err = e.client.IntrospectWithFormdataBodyWithResponse(ctx, oapi.IntrospectFormdataRequestBody{Token: tok.JSON200.RefreshToken}, robot)
	require.NoError(t, err)
	require.False(t, in.JSON200.Active, "revoked")

	unauth, err := e.client.IntrospectWithFormdataBodyWithResponse(ctx, oapi.IntrospectFormdataRequestBody{Token: &tok.JSON200.AccessToken})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, unauth.StatusCode(), "introspection needs client authentication")
	require.Equal(t, oapi.InvalidClient, unauth.JSON401.Error)

	// The session cookie skips the form next time.
	skip, err := e.client.AuthorizeWithResponse(ctx, params, withCookies([]*http.Cookie{session}))
	require.NoError(t, err)
	require.Equal(t, http.StatusFound, skip.StatusCode())
}

func ptr[T any](v T) *T { return &v }

// TestLoginCookiesFollowTheClientsScheme: behind a trusted proxy that says
// the browser used HTTPS, the login flow's cookies carry the __Host- prefix,
// Secure and Path=/; the same header from an untrusted peer changes
// nothing; and the form may post to the client's redirect origin (the CSP
// Chromium applies to the redirect after the post).
func TestLoginCookiesFollowTheClientsScheme(t *testing.T) {
	t.Parallel()
	e := startOAuth(t)
	_, challenge := pkcePair()
	q := url.Values{"response_type": {"code"}, "client_id": {e.web.Client.ClientId}, "redirect_uri": {webRedirect},
		"state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	get := func(base string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, base+"/oauth2/authorize?"+q.Encode(), nil)
		require.NoError(t, err)
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := http.DefaultTransport.RoundTrip(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return resp
	}

	untrusted := get(e.url).Cookies()
	require.Len(t, untrusted, 1)
	require.Equal(t, "lattice_csrf", untrusted[0].Name, "an untrusted peer cannot claim HTTPS")
	require.False(t, untrusted[0].Secure)

	proxied := httptest.NewServer(httpserver.Handler(httpserver.Config{TrustedProxies: clientaddr.MustParse("127.0.0.1")}, e.svc.HTTP))
	t.Cleanup(proxied.Close)
	resp := get(proxied.URL)
	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	require.Equal(t, "__Host-lattice_csrf", cookies[0].Name)
	require.True(t, cookies[0].Secure)
	require.True(t, cookies[0].HttpOnly)
	require.Equal(t, "/", cookies[0].Path)
	require.Empty(t, cookies[0].Domain)
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "form-action 'self' https://web.example.com;")

	// A public URL that is https marks them Secure even with no proxy
	// header (TLS ends before auth).
	httpsIssuer := startOAuth(t, func(c *authsvc.Config) { c.Issuer = "https://lattice.example" })
	q.Set("client_id", httpsIssuer.web.Client.ClientId)
	cookies = get(httpsIssuer.url).Cookies()
	require.Len(t, cookies, 1)
	require.Equal(t, "__Host-lattice_csrf", cookies[0].Name)
	require.True(t, cookies[0].Secure)
}
