package argon2id_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/argon2id"
)

// cheap keeps unit tests fast; the production parameters are benchmarked.
var cheap = argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	t.Parallel()
	h := argon2id.New(cheap)
	enc, err := h.Hash("correct horse battery staple")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$"), enc)

	ok, err := h.Verify("correct horse battery staple", enc)
	require.NoError(t, err)
	require.True(t, ok)

	ok, err = h.Verify("correct horse battery stapler", enc)
	require.NoError(t, err)
	require.False(t, ok)

	again, err := h.Hash("correct horse battery staple")
	require.NoError(t, err)
	require.NotEqual(t, enc, again, "salts must differ")
}

func TestVerifyUsesStoredParams(t *testing.T) {
	t.Parallel()
	old, err := argon2id.New(cheap).Hash("pw-from-an-older-policy")
	require.NoError(t, err)
	stronger := argon2id.New(argon2id.Params{MemoryKiB: 128, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32})
	ok, err := stronger.Verify("pw-from-an-older-policy", old)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	h := argon2id.New(cheap)
	for _, enc := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=x$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		_, err := h.Verify("pw", enc)
		require.ErrorIs(t, err, argon2id.ErrMalformed, enc)
	}
}

func BenchmarkLoginVerifyOWASP(b *testing.B) {
	h := argon2id.New(argon2id.OWASP)
	enc, err := h.Hash("correct horse battery staple")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := h.Verify("correct horse battery staple", enc); !ok {
			b.Fatal("mismatch")
		}
	}
}
