package legacyhash_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/argon2id"
	"github.com/lattice-platform/lattice/pkg/adapters/legacyhash"
)

// Hashes of "correct horse" made by passlib 1.7.4 (Debian's python3-passlib,
// the reference monolith's), as their systems stored them.
var madeByPasslib = map[string]string{
	"passlib pbkdf2_sha256":           "$pbkdf2-sha256$29000$Z0yJsdbam1NKiZHSGuMcIw$gExhbYkaQ1gdOnzl6LfxSBp.i5Fh.cTMpkCQ/aF3av4",
	"passlib pbkdf2_sha256, '.' salt": "$pbkdf2-sha256$1000$UOrdG.Pc.78$vG.F3r9t1uKFo1AzyaiXC8sYWIOWMckP0/WCZ.2Eq84",
	"bcrypt $2b$":                     "$2b$04$0ehisEbhH79wZy0Rit8gCujAxj7aLDsjZV0pczUMm0ZtRkSR2JsWK",
	"bcrypt $2a$":                     "$2a$04$8jubrdEk38eOR4IsFPuCuupqtFocsFMykECMdrrYNwtrSJpOXuD8G",
	"bcrypt $2y$":                     "$2y$04$g4YIud03cPJ2vJgGcy5Py.plQyJQhs7EXv.F.oVjR7i9w5aApg/KO",
	"Django pbkdf2_sha256":            "pbkdf2_sha256$1000$We5KkBnab6BR$ZkJ91D6UM40nR6p40qw9vUvFd8L9ubMP8p2KGc9/mW8=",
}

// The Argon2 reference implementation's own example: password "password",
// salt "somesalt", t=2, m=64 MiB, p=4 (github.com/P-H-C/phc-winner-argon2).
const argon2iReference = "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"

func hasher() legacyhash.Hasher {
	return legacyhash.Hasher{Current: argon2id.New(argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32})}
}

func TestEveryLegacyFormatVerifies(t *testing.T) {
	ctx := context.Background()
	h := hasher()
	for name, encoded := range madeByPasslib {
		ok, err := h.Verify(ctx, "correct horse", encoded)
		require.NoError(t, err, name)
		require.True(t, ok, name)
		ok, err = h.Verify(ctx, "correct horsE", encoded)
		require.NoError(t, err, "%s: a wrong password is no error", name)
		require.False(t, ok, name)
		require.True(t, h.NeedsRehash(encoded), "%s is replaced at the next login", name)
	}
	ok, err := h.Verify(ctx, "password", argon2iReference)
	require.NoError(t, err)
	require.True(t, ok, "the Argon2i reference vector")
	ok, err = h.Verify(ctx, "passw0rd", argon2iReference)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestNewHashesAreTheCurrentHashersAndNeedNoRehash(t *testing.T) {
	ctx := context.Background()
	h := hasher()
	encoded, err := h.Hash(ctx, "correct horse")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(encoded, "$argon2id$v=19$m=64,t=1,p=1$"), encoded)
	ok, err := h.Verify(ctx, "correct horse", encoded)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, h.NeedsRehash(encoded))

	stronger := legacyhash.Hasher{Current: argon2id.New(argon2id.Params{MemoryKiB: 128, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32})}
	ok, err = stronger.Verify(ctx, "correct horse", encoded)
	require.NoError(t, err)
	require.True(t, ok, "an Argon2id hash with other parameters still verifies")
	require.True(t, stronger.NeedsRehash(encoded), "and is replaced with the current parameters")
}

// TestHashesThatAskTooMuchOrMakeNoSenseAreRefused: each limit is crossed
// by one hash, which is refused before any work; nonsense is refused too.
func TestHashesThatAskTooMuchOrMakeNoSenseAreRefused(t *testing.T) {
	ctx := context.Background()
	h := hasher()
	for name, encoded := range map[string]string{
		"pbkdf2 rounds over the limit": "$pbkdf2-sha256$2000001$Z0yJsdbam1NKiZHSGuMcIw$gExhbYkaQ1gdOnzl6LfxSBp.i5Fh.cTMpkCQ/aF3av4",
		"Django rounds over the limit": "pbkdf2_sha256$2000001$We5KkBnab6BR$ZkJ91D6UM40nR6p40qw9vUvFd8L9ubMP8p2KGc9/mW8=",
		"bcrypt cost over the limit":   "$2b$15$0ehisEbhH79wZy0Rit8gCujAxj7aLDsjZV0pczUMm0ZtRkSR2JsWK",
		"argon2i memory over 1 GiB":    "$argon2i$v=19$m=1048577,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"argon2i time over the limit":  "$argon2i$v=19$m=65536,t=17,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"an encoded hash over 512 B":   "$pbkdf2-sha256$1000$" + strings.Repeat("A", legacyhash.MaxEncoded) + "$x",
		"zero rounds":                  "$pbkdf2-sha256$0$Z0yJsdbam1NKiZHSGuMcIw$gExhbYkaQ1gdOnzl6LfxSBp.i5Fh.cTMpkCQ/aF3av4",
		"bad base64":                   "$pbkdf2-sha256$1000$!!$gExhbYkaQ1gdOnzl6LfxSBp",
		"a truncated bcrypt":           "$2b$04$0ehisEbhH79wZy0Rit8gCu",
		"an unknown argon2i parameter": "$argon2i$v=19$m=65536,t=2,p=4,x=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"md5-crypt":                    "$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0",
		"plain text":                   "correct horse",
		"empty":                        "",
	} {
		ok, err := h.Verify(ctx, "correct horse", encoded)
		want := legacyhash.ErrMalformed
		if strings.HasPrefix(encoded, "$argon2") {
			want = argon2id.ErrMalformed // Argon2 strings are Current's to refuse
		}
		require.ErrorIs(t, err, want, name)
		require.False(t, ok, name)
	}
}

// TestOnlyTheFirst72BytesCountForBcrypt, as passlib and the C library
// count them: a long password logs in as it did on the old system.
func TestOnlyTheFirst72BytesCountForBcrypt(t *testing.T) {
	long := strings.Repeat("x", 72)
	const made = "$2b$04$4SXdSuB9iBZseRDGQdvtruzRw.qye0ij6uF9wEprJpeTOQG2h53fO" // bcrypt.using(rounds=4).hash("x"*72)
	for _, pw := range []string{long, long + "anything after"} {
		ok, err := hasher().Verify(context.Background(), pw, made)
		require.NoError(t, err)
		require.True(t, ok, len(pw))
	}
}
