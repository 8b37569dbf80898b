package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// keyCache holds the active signing key so issuing a token does not read
// the key table. It is refreshed every keyCacheTTL; a replica that missed
// another's rotation keeps signing with a retired key for at most that
// long, which stays verifiable because retired keys are published for
// AccessTTL + publishMargin.
type keyCache struct {
	mu       sync.Mutex
	active   domain.SigningKey
	loadedAt time.Time
}

const (
	keyCacheTTL   = time.Minute
	publishMargin = 2 * keyCacheTTL
)

// signingKey returns the active key, creating the first one if none exists.
func (s *SigningKeys) signingKey(ctx context.Context) (domain.SigningKey, error) {
	now := s.clock.Now()
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	if s.cache.active.ID != "" && now.Sub(s.cache.loadedAt) < keyCacheTTL {
		return s.cache.active, nil
	}
	keys, err := s.keyStore.Published(ctx, now)
	if err != nil {
		return domain.SigningKey{}, err
	}
	for _, k := range keys {
		if k.Active() {
			s.cache.active, s.cache.loadedAt = k, now
			return k, nil
		}
	}
	k, err := s.rotateLocked(ctx, now, actorSystem)
	return k, err
}

// RotateKeys makes a new signing key active at once. The previous key stays
// in the JWKS until every token it signed has expired.
func (s *SigningKeys) RotateKeys(ctx context.Context) (domain.SigningKey, error) {
	return s.rotateKeys(ctx, actorOperator)
}

func (s *SigningKeys) rotateKeys(ctx context.Context, actor string) (domain.SigningKey, error) {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return s.rotateLocked(ctx, s.clock.Now(), actor)
}

// RotateKeysAsAdmin is RotateKeys behind the keys:admin scope.
func (s *SigningKeys) RotateKeysAsAdmin(ctx context.Context, p domain.Principal) (domain.SigningKey, error) {
	if err := p.Require("keys:admin"); err != nil {
		return domain.SigningKey{}, err
	}
	return s.rotateKeys(ctx, actorOf(p))
}

func (s *SigningKeys) rotateLocked(ctx context.Context, now time.Time, actor string) (domain.SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return domain.SigningKey{}, fault.Wrap(fault.Internal, "generate signing key", err)
	}
	k := domain.SigningKey{ID: keyID(priv), Private: priv, CreatedAt: now}
	err = s.rec.audited(ctx, audit{actor: actor, action: "signing_key.rotated", target: "signing-key/" + k.ID},
		func(ctx context.Context) error {
			return s.keyStore.Rotate(ctx, k, now.Add(s.opts.AccessTTL+publishMargin))
		})
	if err != nil {
		return domain.SigningKey{}, err
	}
	s.cache.active, s.cache.loadedAt = k, now
	return k, nil
}

// keyID derives the kid from the public key (a truncated RFC 7638-style
// hash), so ids are unique without coordination.
func keyID(priv ed25519.PrivateKey) string {
	sum := sha256.Sum256(priv.Public().(ed25519.PublicKey))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// MaybeRotateKeys rotates when the active key is older than the rotation
// period; the service calls it on a schedule.
func (s *SigningKeys) MaybeRotateKeys(ctx context.Context) (rotated bool, err error) {
	k, err := s.signingKey(ctx)
	if err != nil {
		return false, err
	}
	if s.clock.Now().Sub(k.CreatedAt) < s.opts.KeyRotation {
		return false, nil
	}
	_, err = s.rotateKeys(ctx, actorSystem)
	return err == nil, err
}

// PublishedKeys returns the keys for the JWKS, read fresh so a verifier
// that refetches after seeing an unknown kid always finds the new key.
func (s *SigningKeys) PublishedKeys(ctx context.Context) ([]domain.SigningKey, error) {
	if _, err := s.signingKey(ctx); err != nil { // make sure one exists
		return nil, err
	}
	return s.keyStore.Published(ctx, s.clock.Now())
}

// JWKS returns the published keys as a JWK Set (RFC 7517).
func (s *SigningKeys) JWKS(ctx context.Context) ([]byte, error) {
	keys, err := s.PublishedKeys(ctx)
	if err != nil {
		return nil, err
	}
	return s.signer.JWKS(keys)
}

// AccessToken is an issued access token.
type AccessToken struct {
	Token     string
	ExpiresIn time.Duration
	Scopes    []domain.Scope
}

func (s *SigningKeys) issueAccess(ctx context.Context, subject, clientID string, scopes []domain.Scope) (AccessToken, error) {
	key, err := s.signingKey(ctx)
	if err != nil {
		return AccessToken{}, err
	}
	now := s.clock.Now()
	tok, err := s.signer.Sign(domain.AccessClaims{
		Issuer: s.opts.Issuer, Subject: subject, Audience: []string{s.opts.Audience},
		IssuedAt: now, ExpiresAt: now.Add(s.opts.AccessTTL), ID: newID(), Scopes: scopes, ClientID: clientID,
	}, key)
	if err != nil {
		return AccessToken{}, err
	}
	return AccessToken{Token: tok, ExpiresIn: s.opts.AccessTTL, Scopes: scopes}, nil
}
