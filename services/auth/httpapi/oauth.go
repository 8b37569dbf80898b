package httpapi

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/pkg/platform/problem"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
	"github.com/lattice-platform/lattice/services/auth/oapi"
)

const (
	sessionCookieName = "lattice_session"
	csrfCookieName    = "lattice_csrf"
	// Over HTTPS the cookies carry the __Host- prefix: the browser then
	// insists on Secure, Path=/ and no Domain, so no sibling host or
	// plain-HTTP page can plant or overwrite them.
	hostPrefix    = "__Host-"
	authorizePath = "/oauth2/authorize"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// --- RFC 6749 JSON responses --------------------------------------------

// oauthJSON writes an OAuth JSON body with the headers RFC 6749 §5.1
// requires (no caching of tokens) and, for client-authentication failures,
// a Basic challenge (§5.2).
type oauthJSON struct {
	status int
	body   any
	basic  bool
}

func (o oauthJSON) write(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if o.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="lattice"`)
	}
	w.WriteHeader(o.status)
	if o.body == nil {
		return nil
	}
	return json.NewEncoder(w).Encode(o.body)
}

func (o oauthJSON) VisitTokenResponse(w http.ResponseWriter) error      { return o.write(w) }
func (o oauthJSON) VisitIntrospectResponse(w http.ResponseWriter) error { return o.write(w) }
func (o oauthJSON) VisitRevokeResponse(w http.ResponseWriter) error     { return o.write(w) }

// oauthJSONPaths answer every error in RFC 6749 §5.2 form, including
// requests the validator rejects, because OAuth clients parse nothing else.
var oauthJSONPaths = map[string]bool{"/oauth2/token": true, "/oauth2/introspect": true, "/oauth2/revoke": true}

// writeError answers a failed request: RFC 6749 errors on the OAuth JSON
// endpoints (client mistakes become invalid_request, failures
// server_error), problem details everywhere else.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if !oauthJSONPaths[r.URL.Path] {
		problem.Write(w, r, err)
		return
	}
	d := problem.From(err)
	code, status := domain.ErrInvalidRequest, http.StatusBadRequest
	if d.Status >= 500 {
		code, status = "server_error", d.Status
		slog.ErrorContext(r.Context(), "request failed", "error", err, "path", r.URL.Path)
	}
	_ = oauthJSON{status: status, body: oapi.OAuthError{Error: oapi.OAuthErrorError(code), ErrorDescription: &d.Detail}}.write(w)
}

// oauthFailure maps an OAuth protocol error to its response, and passes
// anything else (infrastructure failures) to the problem handler.
func oauthFailure(err error) (oauthJSON, error) {
	var oe *domain.OAuthError
	if !errors.As(err, &oe) {
		return oauthJSON{}, err
	}
	body := oapi.OAuthError{Error: oapi.OAuthErrorError(oe.Code), ErrorDescription: &oe.Description}
	if oe.Code == domain.ErrInvalidClient {
		return oauthJSON{status: http.StatusUnauthorized, body: body, basic: true}, nil
	}
	return oauthJSON{status: http.StatusBadRequest, body: body}, nil
}

// clientCredentials picks the client's credentials from HTTP Basic or the
// body; using both at once is an error (RFC 6749 §2.3).
func clientCredentials(ctx context.Context, bodyID, bodySecret *string) (id, secret string, err error) {
	c := callerFrom(ctx)
	if c.hasBasic {
		if deref(bodySecret) != "" || (deref(bodyID) != "" && deref(bodyID) != c.basicID) {
			return "", "", domain.OAuthErr(domain.ErrInvalidRequest, "use one client authentication method")
		}
		return c.basicID, c.basicSecret, nil
	}
	return deref(bodyID), deref(bodySecret), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Token is the token endpoint.
func (s *Server) Token(ctx context.Context, req oapi.TokenRequestObject) (oapi.TokenResponseObject, error) {
	f := req.Body
	if f == nil {
		f = &oapi.TokenFormdataRequestBody{}
	}
	id, secret, err := clientCredentials(ctx, f.ClientId, f.ClientSecret)
	if err != nil {
		return oauthFailure(err)
	}
	res, err := s.app.Token(ctx, app.TokenRequest{
		GrantType: deref(f.GrantType), ClientID: id, ClientSecret: secret, Code: deref(f.Code),
		RedirectURI: deref(f.RedirectUri), CodeVerifier: deref(f.CodeVerifier), RefreshToken: deref(f.RefreshToken), Scope: deref(f.Scope),
		SubjectToken: deref(f.SubjectToken), SubjectTokenType: deref(f.SubjectTokenType), RequestedTokenType: deref(f.RequestedTokenType),
	})
	if err != nil {
		return oauthFailure(err)
	}
	body := oapi.Tokens{AccessToken: res.AccessToken, TokenType: oapi.Bearer, ExpiresIn: int(res.ExpiresIn / time.Second)}
	if scope := strings.Join(res.Scopes, " "); scope != "" {
		body.Scope = &scope
	}
	if res.RefreshToken != "" {
		body.RefreshToken = &res.RefreshToken
	}
	if res.IssuedTokenType != "" {
		body.IssuedTokenType = &res.IssuedTokenType
	}
	return oauthJSON{status: http.StatusOK, body: body}, nil
}

// tokenForm reads the form shared by introspection and revocation.
func tokenForm(ctx context.Context, f *oapi.TokenOnlyForm) (token, clientID, secret string, err error) {
	if f == nil {
		f = &oapi.TokenOnlyForm{}
	}
	clientID, secret, err = clientCredentials(ctx, f.ClientId, f.ClientSecret)
	return deref(f.Token), clientID, secret, err
}

// Introspect is the RFC 7662 endpoint.
func (s *Server) Introspect(ctx context.Context, req oapi.IntrospectRequestObject) (oapi.IntrospectResponseObject, error) {
	token, id, secret, err := tokenForm(ctx, req.Body)
	if err != nil {
		return oauthFailure(err)
	}
	if token == "" {
		if _, err := s.app.Introspect(ctx, id, secret, ""); err != nil { // authenticate first
			return oauthFailure(err)
		}
		return oauthFailure(domain.OAuthErr(domain.ErrInvalidRequest, "token is required"))
	}
	in, err := s.app.Introspect(ctx, id, secret, token)
	if err != nil {
		return oauthFailure(err)
	}
	out := oapi.Introspection{Active: in.Active}
	if in.Active {
		scope := strings.Join(in.Scopes, " ")
		iss := s.issuer
		out.Sub, out.ClientId, out.Scope, out.TokenType, out.Jti, out.Iss = &in.Subject, &in.ClientID, &scope, &in.TokenType, &in.TokenID, &iss
		if in.Username != "" {
			out.Username = &in.Username
		}
		if !in.ExpiresAt.IsZero() {
			exp := int(in.ExpiresAt.Unix())
			out.Exp = &exp
		}
		if !in.IssuedAt.IsZero() {
			iat := int(in.IssuedAt.Unix())
			out.Iat = &iat
		}
	}
	return oauthJSON{status: http.StatusOK, body: out}, nil
}

// Revoke is the RFC 7009 endpoint.
func (s *Server) Revoke(ctx context.Context, req oapi.RevokeRequestObject) (oapi.RevokeResponseObject, error) {
	token, id, secret, err := tokenForm(ctx, req.Body)
	if err != nil {
		return oauthFailure(err)
	}
	if err := s.app.Revoke(ctx, id, secret, token); err != nil {
		return oauthFailure(err)
	}
	if token == "" {
		return oauthFailure(domain.OAuthErr(domain.ErrInvalidRequest, "token is required"))
	}
	return oauthJSON{status: http.StatusOK}, nil
}

// Metadata is RFC 8414 discovery.
func (s *Server) Metadata(context.Context, oapi.MetadataRequestObject) (oapi.MetadataResponseObject, error) {
	iss := s.issuer
	authMethods := []string{"client_secret_basic", "client_secret_post"}
	yes := true
	return oapi.Metadata200JSONResponse{
		Issuer:                                     iss,
		AuthorizationEndpoint:                      iss + "/oauth2/authorize",
		TokenEndpoint:                              iss + "/oauth2/token",
		JwksUri:                                    iss + "/.well-known/jwks.json",
		IntrospectionEndpoint:                      ptr(iss + "/oauth2/introspect"),
		RevocationEndpoint:                         ptr(iss + "/oauth2/revoke"),
		ResponseTypesSupported:                     []string{"code"},
		GrantTypesSupported:                        s.app.GrantTypes(),
		CodeChallengeMethodsSupported:              []string{"S256"},
		TokenEndpointAuthMethodsSupported:          ptr(append(authMethods, "none")),
		IntrospectionEndpointAuthMethodsSupported:  &authMethods,
		RevocationEndpointAuthMethodsSupported:     ptr(append(authMethods, "none")),
		ScopesSupported:                            ptr(domain.RoleScopes(domain.RoleAdmin)),
		AuthorizationResponseIssParameterSupported: &yes,
	}, nil
}

func ptr[T any](v T) *T { return &v }

// Jwks publishes the verification keys.
func (s *Server) Jwks(ctx context.Context, _ oapi.JwksRequestObject) (oapi.JwksResponseObject, error) {
	b, err := s.app.JWKS(ctx)
	if err != nil {
		return nil, err
	}
	return rawJSON(b), nil
}

// rawJSON serves pre-encoded JSON that verifiers must always see fresh.
type rawJSON []byte

func (b rawJSON) VisitJwksResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	// Verifiers refetch when they meet an unknown kid; a cached copy would
	// hide a key that was just rotated in.
	w.Header().Set("Cache-Control", "no-cache")
	_, err := w.Write(b)
	return err
}

// --- authorization endpoint ---------------------------------------------

// htmlPage is an HTML response that may set cookies or redirect.
type htmlPage struct {
	status   int
	body     []byte
	location string
	cookies  []*http.Cookie
	// formTargets are the origins besides our own that a form on the page
	// may end up at: Chromium applies form-action to the redirect that
	// answers the post, so the client's redirect URI must be allowed.
	formTargets []string
}

func (p htmlPage) write(w http.ResponseWriter, redirect int) error {
	for _, c := range p.cookies {
		http.SetCookie(w, c)
	}
	w.Header().Set("Cache-Control", "no-store")
	// The login form must not be framed by another site (clickjacking).
	w.Header().Set("X-Frame-Options", "DENY")
	formAction := "'self'"
	for _, t := range p.formTargets {
		formAction += " " + t
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+formAction+"; frame-ancestors 'none'")
	if p.location != "" {
		w.Header().Set("Location", p.location)
		w.WriteHeader(redirect)
		return nil
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.status)
	_, err := w.Write(p.body)
	return err
}

func (p htmlPage) VisitAuthorizeResponse(w http.ResponseWriter) error {
	return p.write(w, http.StatusFound)
}

// VisitAuthorizeLoginResponse answers the login post. A redirect is 303,
// not 302 or 307: the browser must not repeat the post that carried the
// password to the client (RFC 9700, 4.12).
func (p htmlPage) VisitAuthorizeLoginResponse(w http.ResponseWriter) error {
	return p.write(w, http.StatusSeeOther)
}

func render(status int, name string, data any) (htmlPage, error) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		return htmlPage{}, err
	}
	return htmlPage{status: status, body: buf.Bytes()}, nil
}
