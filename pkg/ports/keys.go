package ports

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// SigningKeyStore keeps the access-token signing keys.
type SigningKeyStore interface {
	// Rotate stores k as the active key and retires every other active key,
	// keeping retired ones published until publishUntil, atomically.
	Rotate(ctx context.Context, k domain.SigningKey, publishUntil time.Time) error
	// Published returns the keys a verifier may need at now (the active one
	// and retired ones still published), newest first.
	Published(ctx context.Context, now time.Time) ([]domain.SigningKey, error)
}

// TokenSigner turns claims into a signed access token, and publishes the
// keys that verify them.
type TokenSigner interface {
	// Sign returns a compact JWS of claims signed with key.
	Sign(claims domain.AccessClaims, key domain.SigningKey) (string, error)
	// JWKS encodes the public halves of keys as an RFC 7517 JWK Set.
	JWKS(keys []domain.SigningKey) ([]byte, error)
}
