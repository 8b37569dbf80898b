package domain

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// ClientType says whether a client can keep a secret (RFC 6749 §2.1).
type ClientType string

// The client types. Public clients (SPAs, CLIs, mobile apps) have no secret
// and must use PKCE, which OAuth 2.1 requires of every client anyway.
const (
	ClientConfidential ClientType = "confidential"
	ClientPublic       ClientType = "public"
)

// Grant types Lattice supports. OAuth 2.1 drops implicit and password.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
	// GrantTokenExchange (RFC 8693) exchanges a session of the system
	// Lattice replaces for a Lattice access token, during a migration.
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// Token types of the token exchange (RFC 8693 §3). The legacy session
// type is Lattice's own URI: a session token the replaced system issued.
const (
	TokenTypeLegacySession = "urn:lattice:params:oauth:token-type:legacy-session"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
)

// Client is a registered OAuth client.
type Client struct {
	ID           string
	Name         string
	Type         ClientType
	SecretHash   []byte // SHA-256 of the secret; nil for public clients
	RedirectURIs []string
	GrantTypes   []string
	Scopes       []Scope // the most this client may ask for
	CreatedAt    time.Time
}

// AllowsGrant reports whether the client registered grant g.
func (c Client) AllowsGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

// HasRedirectURI reports an exact, byte-for-byte match, as OAuth 2.1
// requires: no prefix, wildcard or normalisation.
func (c Client) HasRedirectURI(uri string) bool { return slices.Contains(c.RedirectURIs, uri) }

// CheckSecret compares secret with the stored hash in constant time.
func (c Client) CheckSecret(secret string) bool {
	if c.Type != ClientConfidential || len(c.SecretHash) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare(HashToken(secret), c.SecretHash) == 1
}

// ErrClientNotFound is returned for unknown client ids.
var ErrClientNotFound = fault.New(fault.NotFound, "client not found")

// ValidateClient checks a registration before it is stored.
func ValidateClient(c Client) error {
	if strings.TrimSpace(c.Name) == "" || len(c.Name) > 100 {
		return fault.InvalidField("name", "must be 1 to 100 characters")
	}
	if c.Type != ClientConfidential && c.Type != ClientPublic {
		return fault.InvalidField("type", "must be confidential or public")
	}
	if len(c.GrantTypes) == 0 {
		return fault.InvalidField("grant_types", "must name at least one grant")
	}
	for _, g := range c.GrantTypes {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken:
		case GrantClientCredentials, GrantTokenExchange:
			if c.Type == ClientPublic {
				return fault.InvalidField("grant_types", g+" needs a confidential client")
			}
		default:
			return fault.InvalidField("grant_types", "unsupported grant "+g+" (implicit and password are not offered)")
		}
	}
	if c.AllowsGrant(GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
		return fault.InvalidField("redirect_uris", "authorization_code needs at least one redirect URI")
	}
	for _, u := range c.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return err
		}
	}
	for _, s := range c.Scopes {
		if !validScopeToken(s) {
			return fault.InvalidField("scopes", "invalid scope "+s)
		}
	}
	return nil
}

// checkRedirectURI enforces OAuth 2.1 §2.3.1: absolute, no fragment, and
// https except for loopback (native apps listen on 127.0.0.1 or [::1]).
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "":
		return fault.InvalidField("redirect_uris", "must be an absolute URL")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fault.InvalidField("redirect_uris", "must not contain a fragment")
	case u.User != nil:
		return fault.InvalidField("redirect_uris", "must not contain a user name or password")
	case u.Scheme == "https" && u.Hostname() != "":
		return nil
	case u.Scheme == "http" && loopbackHosts[u.Hostname()]:
		// The host is parsed, not matched as a prefix: http://localhost.evil.example
		// and http://localhost@evil.example are not loopback.
		return nil
	}
	return fault.InvalidField("redirect_uris", "must be https, or http on a loopback address")
}

// loopbackHosts are the hosts a native app's http redirect URI may name
// (RFC 8252, 7.3).
var loopbackHosts = map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}

// ParseScope splits an RFC 6749 scope string, dropping duplicates.
func ParseScope(s string) ([]Scope, error) {
	var out []Scope
	for _, tok := range strings.Fields(s) {
		if !validScopeToken(tok) {
			return nil, OAuthErr(ErrInvalidScope, "malformed scope")
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	return out, nil
}

// validScopeToken applies RFC 6749 §3.3's scope-token grammar.
func validScopeToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}

// GrantScopes decides a grant's scopes: what was asked (or, when nothing
// was, everything allowed), which must be within allowed.
func GrantScopes(requested, allowed []Scope) ([]Scope, error) {
	if len(requested) == 0 {
		return slices.Clone(allowed), nil
	}
	for _, s := range requested {
		if !slices.Contains(allowed, s) {
			return nil, OAuthErr(ErrInvalidScope, "scope "+s+" is not allowed for this client")
		}
	}
	return requested, nil
}

// Intersect returns the scopes in both a and b, in a's order.
func Intersect(a, b []Scope) []Scope {
	out := []Scope{}
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// VerifyPKCE checks an RFC 7636 S256 code verifier against its challenge.
// Only S256 is accepted; "plain" would let a stolen code be redeemed.
func VerifyPKCE(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// ValidChallenge reports whether challenge looks like a base64url SHA-256.
func ValidChallenge(challenge string) bool {
	if len(challenge) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(challenge)
	return err == nil
}

// AuthorizationCode is a one-time code issued by /oauth2/authorize.
type AuthorizationCode struct {
	CodeHash      []byte
	ClientID      string
	UserID        string
	RedirectURI   string
	Scopes        []Scope
	CodeChallenge string
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

// RefreshToken is one link of a rotation chain. Every refresh spends the
// presented token and issues a new one in the same family; presenting a
// spent token again means it was stolen, so the whole family is revoked.
type RefreshToken struct {
	ID        string
	FamilyID  string
	TokenHash []byte
	ClientID  string
	UserID    string
	Scopes    []Scope
	CreatedAt time.Time
	ExpiresAt time.Time
}

// RefreshTokenPrefix marks Lattice refresh tokens.
const RefreshTokenPrefix = "ltr_"

// OAuth error codes (RFC 6749 §5.2, RFC 7009, RFC 6750).
const (
	ErrInvalidRequest       = "invalid_request"
	ErrInvalidClient        = "invalid_client"
	ErrInvalidGrant         = "invalid_grant"
	ErrUnauthorizedClient   = "unauthorized_client"
	ErrUnsupportedGrantType = "unsupported_grant_type"
	ErrInvalidScope         = "invalid_scope"
	ErrAccessDenied         = "access_denied"
	ErrUnsupportedRespType  = "unsupported_response_type"
)

// OAuthError is an error the OAuth endpoints answer in RFC 6749 form
// rather than as problem details.
type OAuthError struct {
	Code        string
	Description string
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

// OAuthErr builds an OAuthError.
func OAuthErr(code, description string) *OAuthError {
	return &OAuthError{Code: code, Description: description}
}
