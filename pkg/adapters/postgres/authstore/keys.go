package authstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore/internal/authdb"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// SigningKeyStore is the PostgreSQL app.SigningKeyStore. When given a
// key-encryption key, private keys are sealed with AES-256-GCM before they
// are written, so a database dump alone cannot mint tokens.
type SigningKeyStore struct {
	pool *pgxpool.Pool
	q    *authdb.Queries
	aead cipher.AEAD // nil: stored unsealed
}

var _ app.SigningKeyStore = (*SigningKeyStore)(nil)

// Stored key formats, in the first byte.
const (
	keyPlain  byte = 0
	keySealed byte = 1
)

// NewSigningKeyStore returns a store on pool; kek, if not nil, must be 32
// bytes.
func NewSigningKeyStore(pool *pgxpool.Pool, kek []byte) (*SigningKeyStore, error) {
	s := &SigningKeyStore{pool: pool, q: authdb.New(pool)}
	if kek != nil {
		if len(kek) != 32 {
			return nil, errors.New("postgres: the key-encryption key must be 32 bytes")
		}
		block, err := aes.NewCipher(kek)
		if err != nil {
			return nil, err
		}
		if s.aead, err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Rotate stores k and retires the other active keys in one transaction.
func (s *SigningKeyStore) Rotate(ctx context.Context, k domain.SigningKey, publishUntil time.Time) error {
	blob := s.seal(k)
	return postgres.Translate(pgx.BeginFunc(ctx, postgres.Beginner(ctx, s.pool), func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if err := q.InsertSigningKey(ctx, authdb.InsertSigningKeyParams{Kid: k.ID, PrivateKey: blob, CreatedAt: k.CreatedAt}); err != nil {
			return err
		}
		_, err := q.RetireSigningKeys(ctx, authdb.RetireSigningKeysParams{Now: k.CreatedAt, PublishedUntil: publishUntil, KeepKid: k.ID})
		return err
	}))

}

// Published returns the active key and retired keys still published.
func (s *SigningKeyStore) Published(ctx context.Context, now time.Time) ([]domain.SigningKey, error) {
	rows, err := queries(ctx, s.q).PublishedSigningKeys(ctx, now)
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.SigningKey, 0, len(rows))
	for _, r := range rows {
		if s.aead != nil && len(r.PrivateKey) > 0 && r.PrivateKey[0] == keyPlain {
			// With a key-encryption key every key we store is sealed, so an
			// unsealed one was put there by someone else (or predates the
			// key-encryption key): it is neither used nor published. If it
			// was the active key, the service rotates to a sealed one.
			continue
		}
		priv, err := s.open(r.Kid, r.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.Kid, err)
		}
		k := domain.SigningKey{ID: r.Kid, Private: priv, CreatedAt: r.CreatedAt.UTC()}
		if r.RetiredAt != nil {
			k.RetiredAt = r.RetiredAt.UTC()
		}
		if r.PublishedUntil != nil {
			k.PublishedUntil = r.PublishedUntil.UTC()
		}
		out = append(out, k)
	}
	return out, nil
}

func (s *SigningKeyStore) seal(k domain.SigningKey) []byte {
	seed := k.Private.Seed()
	if s.aead == nil {
		return append([]byte{keyPlain}, seed...)
	}
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	// The kid is bound as associated data so a sealed key cannot be moved
	// to another row.
	return append(append([]byte{keySealed}, nonce...), s.aead.Seal(nil, nonce, seed, []byte(k.ID))...)
}

func (s *SigningKeyStore) open(kid string, blob []byte) (ed25519.PrivateKey, error) {
	if len(blob) == 0 {
		return nil, errors.New("empty key")
	}
	switch blob[0] {
	case keyPlain:
		if len(blob) != 1+ed25519.SeedSize {
			return nil, errors.New("malformed key")
		}
		return ed25519.NewKeyFromSeed(blob[1:]), nil
	case keySealed:
		if s.aead == nil {
			return nil, errors.New("key is sealed but no key-encryption key is configured")
		}
		n := s.aead.NonceSize()
		if len(blob) < 1+n {
			return nil, errors.New("malformed sealed key")
		}
		seed, err := s.aead.Open(nil, blob[1:1+n], blob[1+n:], []byte(kid))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, errors.New("cannot unseal key: wrong key-encryption key?")
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	return nil, errors.New("unknown key format")
}
