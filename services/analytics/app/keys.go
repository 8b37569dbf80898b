package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// SigningKeys returns the key that signs new checkpoints, its id, and
// every public key by id. With a configured seed, that key is used (and
// its public key recorded); otherwise the newest stored private key, or a
// new one that is stored — so checkpoints stay verifiable across restarts.
func SigningKeys(ctx context.Context, store ports.AuditKeyStore, seed []byte) (string, ed25519.PrivateKey, map[string]ed25519.PublicKey, error) {
	var key ed25519.PrivateKey
	if len(seed) > 0 {
		if len(seed) != ed25519.SeedSize {
			return "", nil, nil, fmt.Errorf("the audit signing key must be a %d-byte Ed25519 seed", ed25519.SeedSize)
		}
		key = ed25519.NewKeyFromSeed(seed)
		pub := key.Public().(ed25519.PublicKey)
		if err := store.AddAuditKey(ctx, domain.AuditKey{ID: domain.KeyID(pub), Public: pub}); err != nil {
			return "", nil, nil, err
		}
	}
	stored, err := store.AuditKeys(ctx)
	if err != nil {
		return "", nil, nil, err
	}
	if key == nil {
		for _, k := range stored {
			if len(k.Private) == ed25519.PrivateKeySize {
				key = k.Private
			}
		}
	}
	if key == nil {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", nil, nil, err
		}
		k := domain.AuditKey{ID: domain.KeyID(pub), Public: pub, Private: priv}
		if err := store.AddAuditKey(ctx, k); err != nil {
			return "", nil, nil, err
		}
		key, stored = priv, append(stored, k)
	}
	pubs := make(map[string]ed25519.PublicKey, len(stored))
	for _, k := range stored {
		pubs[k.ID] = k.Public
	}
	return domain.KeyID(key.Public().(ed25519.PublicKey)), key, pubs, nil
}
