package tokenverify

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// FetchJWKS returns a KeyFetcher that reads a JWK Set over HTTP. Only
// Ed25519 signing keys are kept.
func FetchJWKS(url string, client *http.Client) KeyFetcher {
	return func(ctx context.Context) (Keys, error) {
		set, err := jwk.Fetch(ctx, url, jwk.WithHTTPClient(client))
		if err != nil {
			return nil, fmt.Errorf("fetch JWKS: %w", err)
		}
		return KeysFromSet(set)
	}
}

// KeysFromSet extracts the Ed25519 verification keys of a JWK Set.
func KeysFromSet(set jwk.Set) (Keys, error) {
	keys := make(Keys, set.Len())
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid, ok := k.KeyID()
		if !ok || k.KeyType() != jwa.OKP() {
			continue
		}
		if alg, ok := k.Algorithm(); ok && alg.String() != jwa.EdDSA().String() {
			continue
		}
		var pub ed25519.PublicKey
		if err := jwk.Export(k, &pub); err != nil {
			continue
		}
		keys[kid] = pub
	}
	return keys, nil
}
