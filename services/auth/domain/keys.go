package domain

import (
	"crypto/ed25519"
	"time"
)

// SigningKey is an Ed25519 key that signs access tokens. A key signs from
// CreatedAt until it is retired; it stays published in the JWKS until
// PublishedUntil so tokens it signed keep verifying until they expire.
type SigningKey struct {
	ID             string // the JWK "kid"
	Private        ed25519.PrivateKey
	CreatedAt      time.Time
	RetiredAt      time.Time // zero while the key is the active signer
	PublishedUntil time.Time // zero while active
}

// Public returns the verification key.
func (k SigningKey) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// Active reports whether k may sign.
func (k SigningKey) Active() bool { return k.RetiredAt.IsZero() }

// AccessClaims are the claims of an access token.
type AccessClaims struct {
	Issuer    string
	Subject   string // a user id, or the client id for client_credentials
	Audience  []string
	ExpiresAt time.Time
	IssuedAt  time.Time
	ID        string // jti
	Scopes    []Scope
	ClientID  string
}
