package app

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// AuthorizeRequest is an /oauth2/authorize request's parameters.
type AuthorizeRequest struct {
	ResponseType        string
	ClientID            string
	RedirectURI         string
	Scope               string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
}

// AuthorizeError is an authorization-request error. When Redirect is false
// the client or redirect URI could not be trusted, so the user must see the
// error instead of being sent anywhere (RFC 6749 §4.1.2.1).
type AuthorizeError struct {
	*domain.OAuthError
	Redirect bool
}

func (e *AuthorizeError) Unwrap() error { return e.OAuthError }

// ValidatedAuthorize is an authorization request that passed every check
// except the user's login.
type ValidatedAuthorize struct {
	Request AuthorizeRequest
	Client  domain.Client
	Scopes  []domain.Scope
}

// CheckAuthorize validates an authorization request before the user is
// asked to log in.
func (s *OAuth) CheckAuthorize(ctx context.Context, r AuthorizeRequest) (ValidatedAuthorize, error) {
	noRedirect := func(code, desc string) error {
		return &AuthorizeError{OAuthError: domain.OAuthErr(code, desc)}
	}
	redirect := func(code, desc string) error {
		return &AuthorizeError{OAuthError: domain.OAuthErr(code, desc), Redirect: true}
	}
	if r.ClientID == "" {
		return ValidatedAuthorize{}, noRedirect(domain.ErrInvalidRequest, "client_id is required")
	}
	c, err := s.clients.ByID(ctx, r.ClientID)
	if errors.Is(err, domain.ErrClientNotFound) {
		return ValidatedAuthorize{}, noRedirect(domain.ErrInvalidClient, "unknown client")
	}
	if err != nil {
		return ValidatedAuthorize{}, err
	}
	if r.RedirectURI == "" || !c.HasRedirectURI(r.RedirectURI) {
		return ValidatedAuthorize{}, noRedirect(domain.ErrInvalidRequest, "redirect_uri does not exactly match a registered URI")
	}
	switch {
	case r.ResponseType != "code":
		return ValidatedAuthorize{}, redirect(domain.ErrUnsupportedRespType, "only response_type=code is supported")
	case !c.AllowsGrant(domain.GrantAuthorizationCode):
		return ValidatedAuthorize{}, redirect(domain.ErrUnauthorizedClient, "this client may not use the authorization code grant")
	case r.CodeChallenge == "":
		return ValidatedAuthorize{}, redirect(domain.ErrInvalidRequest, "code_challenge is required (PKCE)")
	case r.CodeChallengeMethod != "S256":
		return ValidatedAuthorize{}, redirect(domain.ErrInvalidRequest, "code_challenge_method must be S256")
	case !domain.ValidChallenge(r.CodeChallenge):
		return ValidatedAuthorize{}, redirect(domain.ErrInvalidRequest, "code_challenge is not a base64url SHA-256")
	}
	requested, err := domain.ParseScope(r.Scope)
	if err != nil {
		return ValidatedAuthorize{}, redirect(domain.ErrInvalidScope, "malformed scope")
	}
	scopes, err := domain.GrantScopes(requested, c.Scopes)
	if err != nil {
		var oe *domain.OAuthError
		errors.As(err, &oe)
		return ValidatedAuthorize{}, &AuthorizeError{OAuthError: oe, Redirect: true}
	}
	return ValidatedAuthorize{Request: r, Client: c, Scopes: scopes}, nil
}

// IssueCode issues an authorization code for user and returns the URL to
// send the browser to. The code's scopes are limited to what the user's
// role allows.
func (s *OAuth) IssueCode(ctx context.Context, v ValidatedAuthorize, user domain.User) (string, error) {
	now := s.clock.Now()
	code := randomToken("")
	err := s.grants.SaveCode(ctx, domain.AuthorizationCode{
		CodeHash: domain.HashToken(code), ClientID: v.Client.ID, UserID: user.ID, RedirectURI: v.Request.RedirectURI,
		Scopes: domain.Intersect(v.Scopes, domain.RoleScopes(user.Role)), CodeChallenge: v.Request.CodeChallenge,
		CreatedAt: now, ExpiresAt: now.Add(s.opts.CodeTTL),
	})
	if err != nil {
		return "", err
	}
	return RedirectWith(v.Request.RedirectURI, url.Values{"code": {code}, "state": {v.Request.State}, "iss": {s.opts.Issuer}}), nil
}

// RedirectWith appends params (skipping empty ones) to a redirect URI's query.
func RedirectWith(redirectURI string, params url.Values) string {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return redirectURI
	}
	q := u.Query()
	for k, vs := range params {
		if len(vs) > 0 && vs[0] != "" {
			q.Set(k, vs[0])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// TokenRequest is an /oauth2/token request, with the client's credentials
// from either the Authorization header or the body.
type TokenRequest struct {
	GrantType    string
	ClientID     string
	ClientSecret string
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	Scope        string
	// The token exchange's (RFC 8693 §2.1).
	SubjectToken       string
	SubjectTokenType   string
	RequestedTokenType string
}

// TokenResponse is a successful token response.
type TokenResponse struct {
	AccessToken     string
	ExpiresIn       time.Duration
	RefreshToken    string
	Scopes          []domain.Scope
	IssuedTokenType string // the token exchange's
}

// Token runs the token endpoint. Errors are *domain.OAuthError for every
// protocol failure.
func (s *OAuth) Token(ctx context.Context, r TokenRequest) (TokenResponse, error) {
	client, err := s.authenticateClient(ctx, r.ClientID, r.ClientSecret)
	if err != nil {
		return TokenResponse{}, err
	}
	if r.GrantType == "" {
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidRequest, "grant_type is required")
	}
	switch r.GrantType {
	case domain.GrantAuthorizationCode, domain.GrantClientCredentials, domain.GrantRefreshToken:
	case domain.GrantTokenExchange:
		if s.legacySessions == nil {
			return TokenResponse{}, domain.OAuthErr(domain.ErrUnsupportedGrantType, "no legacy session verifier is configured")
		}
	default:
		return TokenResponse{}, domain.OAuthErr(domain.ErrUnsupportedGrantType, "unsupported grant_type")
	}
	if !client.AllowsGrant(r.GrantType) {
		return TokenResponse{}, domain.OAuthErr(domain.ErrUnauthorizedClient, "this client may not use "+r.GrantType)
	}
	switch r.GrantType {
	case domain.GrantAuthorizationCode:
		return s.exchangeCode(ctx, client, r)
	case domain.GrantClientCredentials:
		return s.clientCredentials(ctx, client, r)
	case domain.GrantTokenExchange:
		return s.exchangeLegacySession(ctx, client, r)
	default:
		return s.refresh(ctx, client, r)
	}
}

// GrantTypes are the grants the token endpoint offers, for discovery.
func (s *OAuth) GrantTypes() []string {
	g := []string{domain.GrantAuthorizationCode, domain.GrantClientCredentials, domain.GrantRefreshToken}
	if s.legacySessions != nil {
		g = append(g, domain.GrantTokenExchange)
	}
	return g
}

var errInvalidClient = domain.OAuthErr(domain.ErrInvalidClient, "client authentication failed")

// authenticateClient identifies the client: confidential clients must
// present their secret; public clients present only their id.
func (s *OAuth) authenticateClient(ctx context.Context, id, secret string) (domain.Client, error) {
	if id == "" {
		return domain.Client{}, errInvalidClient
	}
	c, err := s.clients.ByID(ctx, id)
	if errors.Is(err, domain.ErrClientNotFound) {
		return domain.Client{}, errInvalidClient
	}
	if err != nil {
		return domain.Client{}, err
	}
	switch c.Type {
	case domain.ClientConfidential:
		if !c.CheckSecret(secret) {
			return domain.Client{}, errInvalidClient
		}
	case domain.ClientPublic:
		if secret != "" {
			return domain.Client{}, errInvalidClient
		}
	}
	return c, nil
}

func (s *OAuth) exchangeCode(ctx context.Context, client domain.Client, r TokenRequest) (TokenResponse, error) {
	if r.Code == "" || r.CodeVerifier == "" {
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidRequest, "code and code_verifier are required")
	}
	now := s.clock.Now()
	hash := domain.HashToken(r.Code)
	code, err := s.grants.ConsumeCode(ctx, hash, now)
	switch {
	case errors.Is(err, ErrCodeSpent):
		// A replayed code means it leaked: revoke what it produced.
		family := codeFamily(hash)
		err := s.rec.audited(ctx, audit{actor: "client/" + client.ID, action: "token.code_replayed", target: "grant/" + family},
			func(ctx context.Context) error { return s.grants.RevokeFamily(ctx, family, now) })
		if err != nil {
			return TokenResponse{}, err
		}
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, "authorization code already used; tokens issued from it are revoked")
	case errors.Is(err, ErrGrantNotFound):
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, "unknown authorization code")
	case err != nil:
		return TokenResponse{}, err
	}
	switch {
	case !now.Before(code.ExpiresAt):
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, "authorization code expired")
	case code.ClientID != client.ID:
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, "authorization code was issued to another client")
	case r.RedirectURI != code.RedirectURI:
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, "redirect_uri does not match the authorization request")
	case !domain.VerifyPKCE(r.CodeVerifier, code.CodeChallenge):
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, "code_verifier does not match the code_challenge")
	}
	if _, err := s.users.ByID(ctx, code.UserID); err != nil {
		if errors.Is(err, domain.ErrUserNotFound) {
			return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, "the user no longer exists")
		}
		return TokenResponse{}, err
	}
	return s.issueUserTokens(ctx, client, code.UserID, code.Scopes, codeFamily(hash), nil)
}

// codeFamily derives the refresh-token family of a code's tokens from the
// code itself, so a replayed code can revoke them without extra state.
func codeFamily(codeHash []byte) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, codeHash).String()
}

// issueUserTokens issues an access token and, when the client may refresh,
// a refresh token: a new family, or the next link of rotate's family.
func (s *OAuth) issueUserTokens(ctx context.Context, client domain.Client, userID string, scopes []domain.Scope, family string, rotate *domain.RefreshToken) (TokenResponse, error) {
	at, err := s.keyring.issueAccess(ctx, userID, client.ID, scopes)
	if err != nil {
		return TokenResponse{}, err
	}
	resp := TokenResponse{AccessToken: at.Token, ExpiresIn: at.ExpiresIn, Scopes: scopes}
	if !client.AllowsGrant(domain.GrantRefreshToken) {
		return resp, nil
	}
	now := s.clock.Now()
	token := randomToken(domain.RefreshTokenPrefix)
	rt := domain.RefreshToken{
		ID: newID(), FamilyID: family, TokenHash: domain.HashToken(token), ClientID: client.ID, UserID: userID,
		Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(s.opts.RefreshTTL),
	}
	if rotate != nil {
		*rotate = rt
	} else if err := s.grants.SaveRefresh(ctx, rt); err != nil {
		return TokenResponse{}, err
	}
	resp.RefreshToken = token
	return resp, nil
}

func (s *OAuth) clientCredentials(ctx context.Context, client domain.Client, r TokenRequest) (TokenResponse, error) {
	requested, err := domain.ParseScope(r.Scope)
	if err != nil {
		return TokenResponse{}, err
	}
	scopes, err := domain.GrantScopes(requested, client.Scopes)
	if err != nil {
		return TokenResponse{}, err
	}
	at, err := s.keyring.issueAccess(ctx, client.ID, client.ID, scopes)
	if err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{AccessToken: at.Token, ExpiresIn: at.ExpiresIn, Scopes: scopes}, nil
}

func (s *OAuth) refresh(ctx context.Context, client domain.Client, r TokenRequest) (TokenResponse, error) {
	if r.RefreshToken == "" {
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidRequest, "refresh_token is required")
	}
	requested, err := domain.ParseScope(r.Scope)
	if err != nil {
		return TokenResponse{}, err
	}
	var resp TokenResponse
	_, err = s.grants.Rotate(ctx, domain.HashToken(r.RefreshToken), s.clock.Now(), func(old domain.RefreshToken) (domain.RefreshToken, error) {
		if old.ClientID != client.ID {
			return domain.RefreshToken{}, domain.OAuthErr(domain.ErrInvalidGrant, "refresh token was issued to another client")
		}
		scopes := old.Scopes
		if len(requested) > 0 { // a refresh may narrow scope, never widen it (RFC 6749 §6)
			if scopes, err = domain.GrantScopes(requested, old.Scopes); err != nil {
				return domain.RefreshToken{}, err
			}
		}
		if _, err := s.users.ByID(ctx, old.UserID); err != nil {
			if errors.Is(err, domain.ErrUserNotFound) {
				return domain.RefreshToken{}, domain.OAuthErr(domain.ErrInvalidGrant, "the user no longer exists")
			}
			return domain.RefreshToken{}, err
		}
		var next domain.RefreshToken
		resp, err = s.issueUserTokens(ctx, client, old.UserID, scopes, old.FamilyID, &next)
		return next, err
	})
	switch {
	case errors.Is(err, ErrRefreshReused):
		// The store has revoked the grant already; record that it did.
		if err := s.rec.audited(ctx, audit{actor: "client/" + client.ID, action: "token.refresh_reused", target: "client/" + client.ID}, nil); err != nil {
			return TokenResponse{}, err
		}
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, "refresh token reuse detected; every token of this grant is revoked")
	case errors.Is(err, ErrGrantNotFound):
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, "refresh token is invalid, expired or revoked")
	case err != nil:
		return TokenResponse{}, err
	}
	return resp, nil
}

// Introspection is an RFC 7662 answer.
type Introspection struct {
	Active    bool
	Subject   string
	ClientID  string
	Scopes    []domain.Scope
	ExpiresAt time.Time
	IssuedAt  time.Time
	TokenType string
	TokenID   string
	Username  string
}

// inactive is introspection's answer when a token's lookup failed: a token
// that is unknown, expired or revoked is inactive (RFC 7662), but a store
// that cannot answer is an error, so that a caller sees 503 and keeps the
// token rather than being told it is invalid.
func inactive(err error) (Introspection, error) {
	if errors.Is(unauthenticated(err), domain.ErrUnauthenticated) || errors.Is(err, ErrGrantNotFound) {
		return Introspection{}, nil
	}
	return Introspection{}, err
}

// Introspect reports on any Lattice credential: access tokens, refresh
// tokens, API keys and session tokens. Only confidential clients may ask (they are the
// resource servers); anything unknown, expired or revoked is inactive.
func (s *OAuth) Introspect(ctx context.Context, clientID, secret, token string) (Introspection, error) {
	c, err := s.authenticateClient(ctx, clientID, secret)
	if err != nil {
		return Introspection{}, err
	}
	if c.Type != domain.ClientConfidential {
		return Introspection{}, errInvalidClient
	}
	now := s.clock.Now()
	switch {
	case strings.HasPrefix(token, domain.SessionTokenPrefix):
		sess, u, err := s.logins.liveSession(ctx, token)
		if err != nil {
			return inactive(err)
		}
		return Introspection{Active: true, Subject: u.ID, Username: u.Email, Scopes: domain.RoleScopes(u.Role),
			IssuedAt: sess.CreatedAt, ExpiresAt: sess.ExpiresAt, TokenType: "session", TokenID: sess.ID}, nil
	case strings.HasPrefix(token, domain.APIKeyPrefix):
		k, u, err := s.registry.liveAPIKey(ctx, token)
		if err != nil {
			return inactive(err)
		}
		in := Introspection{Active: true, Subject: u.ID, Username: u.Email, Scopes: domain.Intersect(k.Scopes, domain.RoleScopes(u.Role)),
			IssuedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, TokenType: "api_key", TokenID: k.ID}
		return in, nil
	case strings.HasPrefix(token, domain.RefreshTokenPrefix):
		rt, err := s.grants.RefreshByHash(ctx, domain.HashToken(token), now)
		if err != nil {
			return inactive(err)
		}
		return Introspection{Active: true, Subject: rt.UserID, ClientID: rt.ClientID, Scopes: rt.Scopes,
			IssuedAt: rt.CreatedAt, ExpiresAt: rt.ExpiresAt, TokenType: "refresh_token", TokenID: rt.ID}, nil
	case strings.Count(token, ".") == 2:
		id, err := s.verifier.Verify(ctx, token)
		if err != nil {
			return Introspection{}, nil
		}
		return Introspection{Active: true, Subject: id.Subject, ClientID: id.ClientID, Scopes: id.Scopes,
			ExpiresAt: id.ExpiresAt, TokenType: "Bearer", TokenID: id.TokenID}, nil
	}
	return Introspection{}, nil
}

// Revoke implements RFC 7009 for refresh tokens: the whole grant (family)
// is revoked. Unknown tokens, other clients' tokens and access tokens
// (which simply expire) are accepted silently, as the RFC requires.
func (s *OAuth) Revoke(ctx context.Context, clientID, secret, token string) error {
	c, err := s.authenticateClient(ctx, clientID, secret)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(token, domain.RefreshTokenPrefix) {
		return nil
	}
	now := s.clock.Now()
	rt, err := s.grants.RefreshByHash(ctx, domain.HashToken(token), now)
	if err != nil || rt.ClientID != c.ID {
		return nil
	}
	return s.rec.audited(ctx, audit{actor: "client/" + c.ID, action: "token.revoked", target: "grant/" + rt.FamilyID, details: map[string]any{"user": rt.UserID}},
		func(ctx context.Context) error { return s.grants.RevokeFamily(ctx, rt.FamilyID, now) })
}
