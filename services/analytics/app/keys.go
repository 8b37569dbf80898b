package app

import (
	"crypto/ed25519"
	"fmt"

	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// AuditKeys returns the key that signs new checkpoints (from seed, which
// configuration supplies: never the audited store), its id, and the public
// keys verification trusts — the pinned trusted keys (earlier signing keys,
// kept after a rotation) and the signing key's own. A key found in the
// analytics database is never among them, so a key inserted there signs
// nothing that verifies.
func AuditKeys(seed []byte, trusted []ed25519.PublicKey) (string, ed25519.PrivateKey, map[string]ed25519.PublicKey, error) {
	if len(seed) != ed25519.SeedSize {
		return "", nil, nil, fmt.Errorf("the audit signing key must be a %d-byte Ed25519 seed", ed25519.SeedSize)
	}
	key := ed25519.NewKeyFromSeed(seed)
	pub := key.Public().(ed25519.PublicKey)
	pubs := map[string]ed25519.PublicKey{domain.KeyID(pub): pub}
	for _, p := range trusted {
		if len(p) != ed25519.PublicKeySize {
			return "", nil, nil, fmt.Errorf("a trusted audit key must be a %d-byte Ed25519 public key", ed25519.PublicKeySize)
		}
		pubs[domain.KeyID(p)] = p
	}
	return domain.KeyID(pub), key, pubs, nil
}
