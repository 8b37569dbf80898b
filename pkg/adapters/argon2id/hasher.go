// Package argon2id hashes passwords with Argon2id (RFC 9106) and stores them
// as PHC strings, so parameters can be raised later without invalidating
// existing hashes: each hash says how it was made.
package argon2id

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Params are Argon2id's cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32
	KeyLen      uint32
}

// OWASP is the OWASP Password Storage Cheat Sheet's first recommendation
// (m=47104 KiB / 46 MiB, t=1, p=1). It is the default: ~50 ms per hash on
// this project's 2-core machines, which bounds how many logins one core can
// verify per second (see docs/benchmarks.md).
var OWASP = Params{MemoryKiB: 47104, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Hasher implements ports.PasswordHasher.
type Hasher struct{ p Params }

var _ ports.PasswordHasher = (*Hasher)(nil)

// New returns a hasher that creates hashes with p.
func New(p Params) *Hasher { return &Hasher{p: p} }

// Hash returns "$argon2id$v=19$m=…,t=…,p=…$salt$key".
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Iterations, h.p.MemoryKiB, h.p.Parallelism, h.p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.p.MemoryKiB, h.p.Iterations, h.p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrMalformed is returned for a string that is not an Argon2id PHC hash.
var ErrMalformed = errors.New("argon2id: malformed hash")

// Verify recomputes the key with the parameters stored in encoded and
// compares in constant time.
func (h *Hasher) Verify(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformed
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil {
		return false, ErrMalformed
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrMalformed
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrMalformed
	}
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
