// Package jose signs Lattice access tokens and publishes their keys, using
// lestrrat-go/jwx: JWTs signed with Ed25519 (EdDSA), keys as a JWK Set.
package jose

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// Signer implements app.TokenSigner.
type Signer struct {
	keys sync.Map // kid → jwk.Key; importing a key per token would dominate signing cost
}

var _ app.TokenSigner = (*Signer)(nil)

// NewSigner returns a signer.
func NewSigner() *Signer { return &Signer{} }

func (s *Signer) jwkFor(k domain.SigningKey) (jwk.Key, error) {
	if v, ok := s.keys.Load(k.ID); ok {
		return v.(jwk.Key), nil
	}
	key, err := jwk.Import(k.Private)
	if err != nil {
		return nil, fmt.Errorf("jose: import signing key: %w", err)
	}
	if err := key.Set(jwk.KeyIDKey, k.ID); err != nil {
		return nil, err
	}
	s.keys.Store(k.ID, key)
	return key, nil
}

// Sign returns the compact JWS of c, with kid and typ "at+jwt" (RFC 9068)
// in the header.
func (s *Signer) Sign(c domain.AccessClaims, k domain.SigningKey) (string, error) {
	key, err := s.jwkFor(k)
	if err != nil {
		return "", err
	}
	tok, err := jwt.NewBuilder().
		Issuer(c.Issuer).Subject(c.Subject).Audience(c.Audience).
		IssuedAt(c.IssuedAt).NotBefore(c.IssuedAt).Expiration(c.ExpiresAt).JwtID(c.ID).
		Claim("scope", joinScopes(c.Scopes)).Claim("client_id", c.ClientID).
		Build()
	if err != nil {
		return "", fmt.Errorf("jose: build token: %w", err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, "at+jwt"); err != nil {
		return "", err
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA(), key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("jose: sign: %w", err)
	}
	return string(b), nil
}

func joinScopes(s []string) string {
	n := 0
	for _, x := range s {
		n += len(x) + 1
	}
	b := make([]byte, 0, n)
	for i, x := range s {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, x...)
	}
	return string(b)
}

// JWKS renders the public halves of keys as an RFC 7517 JWK Set, each with
// kid, alg EdDSA and use sig.
func JWKS(keys []domain.SigningKey) ([]byte, error) {
	return (*Signer)(nil).JWKS(keys)
}

// JWKS encodes the public keys as a JWK Set (app.TokenSigner).
func (*Signer) JWKS(keys []domain.SigningKey) ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := jwk.Import(k.Public())
		if err != nil {
			return nil, fmt.Errorf("jose: import public key: %w", err)
		}
		for name, v := range map[string]any{jwk.KeyIDKey: k.ID, jwk.AlgorithmKey: jwa.EdDSA(), jwk.KeyUsageKey: "sig"} {
			if err := pub.Set(name, v); err != nil {
				return nil, err
			}
		}
		if err := set.AddKey(pub); err != nil {
			return nil, err
		}
	}
	return json.Marshal(set)
}
