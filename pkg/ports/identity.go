package ports

import (
	"context"
	"time"
)

// CredentialKind says what a bearer credential was.
type CredentialKind string

// The credential kinds a verifier accepts.
const (
	CredentialAccessToken CredentialKind = "access_token"
	CredentialAPIKey      CredentialKind = "api_key"
	CredentialSession     CredentialKind = "session"
)

// Identity is who a verified bearer credential speaks for, in terms any
// service understands; cores never see JWTs or key formats.
type Identity struct {
	Kind      CredentialKind
	Subject   string // a user id, or a client id for service tokens
	ClientID  string
	Scopes    []string
	ExpiresAt time.Time
	TokenID   string
}

// HasScope reports whether the identity holds scope s.
func (id Identity) HasScope(s string) bool {
	for _, x := range id.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// TokenVerifier checks bearer credentials.
type TokenVerifier interface {
	// Verify returns the identity behind bearer, or a fault.Unauthenticated
	// error for anything malformed, forged, expired, revoked or meant for
	// another audience, and fault.Unavailable when the authority cannot be
	// reached to decide. bearer is lent for the call: it may be a view
	// of a buffer the caller reuses once Verify returns, so anything kept
	// keeps a copy.
	Verify(ctx context.Context, bearer string) (Identity, error)
}
