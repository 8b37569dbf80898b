// Package legacyhash lets users migrated from another system keep their
// password hashes: it verifies the formats such systems accumulate
// (passlib's and Django's pbkdf2_sha256, bcrypt's $2a$/$2b$/$2y$, Argon2
// PHC strings) with the standard library and golang.org/x/crypto, and
// makes every new hash with the platform's own hasher, which also says when
// a verified hash should be replaced (on the user's next login).
package legacyhash

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Hasher is a ports.PasswordHasher: Current makes every hash and verifies
// its own; the legacy formats are verified here.
type Hasher struct {
	Current ports.PasswordHasher
}

var _ ports.PasswordHasher = Hasher{}

// ErrMalformed is returned for a hash in no known format, or one whose
// parameters exceed the limits below.
var ErrMalformed = errors.New("legacyhash: malformed or unsupported hash")

// Limits on what a stored hash may ask for: an imported row must not make
// one login spin for seconds or allocate gigabytes. Argon2 hashes go to
// Current, which holds them to package argon2id's limits (1 GiB, 16
// passes, 16 lanes).
const (
	MaxEncoded      = 512       // bytes of an encoded hash
	MaxPBKDF2Rounds = 2_000_000 // Django's default is 870,000 (2024); passlib's 29,000
	MaxBcryptCost   = 14        // about 1 s here; systems use 10–12
	maxKeyLen       = 128       // bytes of a derived key
)

// Hash makes a hash with Current.
func (h Hasher) Hash(ctx context.Context, password string) (string, error) {
	return h.Current.Hash(ctx, password)
}

// NeedsRehash is Current's verdict: a legacy hash always needs one.
func (h Hasher) NeedsRehash(encoded string) bool { return h.Current.NeedsRehash(encoded) }

// Verify checks password against encoded in whichever format it is.
func (h Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	if len(encoded) > MaxEncoded {
		return false, ErrMalformed
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"), strings.HasPrefix(encoded, "$argon2i$"):
		// Current (package argon2id) verifies any Argon2 PHC string, under
		// its bound on concurrent memory-hard work.
		return h.Current.Verify(ctx, password, encoded)
	case strings.HasPrefix(encoded, "$pbkdf2-sha256$"):
		return verifyPasslibPBKDF2(password, encoded)
	case strings.HasPrefix(encoded, "pbkdf2_sha256$"):
		return verifyDjangoPBKDF2(password, encoded)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return verifyBcrypt(password, encoded)
	}
	return false, ErrMalformed
}

// verifyPasslibPBKDF2 checks "$pbkdf2-sha256$rounds$salt$checksum", salt
// and checksum in passlib's adapted base64 ('.' for '+', no padding).
func verifyPasslibPBKDF2(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 {
		return false, ErrMalformed
	}
	rounds, err := rounds(parts[2])
	if err != nil {
		return false, err
	}
	ab64 := base64.RawStdEncoding
	salt, err := ab64.DecodeString(strings.ReplaceAll(parts[3], ".", "+"))
	if err != nil {
		return false, ErrMalformed
	}
	want, err := ab64.DecodeString(strings.ReplaceAll(parts[4], ".", "+"))
	if err != nil || len(want) == 0 || len(want) > maxKeyLen {
		return false, ErrMalformed
	}
	return pbkdf2Matches(password, salt, rounds, want)
}

// verifyDjangoPBKDF2 checks "pbkdf2_sha256$iterations$salt$hash": the
// salt is text, used as it is; the hash is padded standard base64.
func verifyDjangoPBKDF2(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[2] == "" {
		return false, ErrMalformed
	}
	rounds, err := rounds(parts[1])
	if err != nil {
		return false, err
	}
	want, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil || len(want) == 0 || len(want) > maxKeyLen {
		return false, ErrMalformed
	}
	return pbkdf2Matches(password, []byte(parts[2]), rounds, want)
}

func rounds(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPBKDF2Rounds {
		return 0, ErrMalformed
	}
	return n, nil
}

func pbkdf2Matches(password string, salt []byte, rounds int, want []byte) (bool, error) {
	got, err := pbkdf2.Key(sha256.New, password, salt, rounds, len(want))
	if err != nil {
		return false, ErrMalformed
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// verifyBcrypt checks a bcrypt hash. Like passlib and most bcrypt
// libraries, only the first 72 bytes of the password count.
func verifyBcrypt(password, encoded string) (bool, error) {
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil || cost > MaxBcryptCost {
		return false, ErrMalformed
	}
	pw := []byte(password)
	if len(pw) > 72 {
		pw = pw[:72]
	}
	switch err := bcrypt.CompareHashAndPassword([]byte(encoded), pw); {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, ErrMalformed
	}
}
