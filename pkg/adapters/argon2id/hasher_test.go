package argon2id_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/argon2id"
	"github.com/lattice-platform/lattice/pkg/fault"
)

var ctx = context.Background()

// cheap keeps unit tests fast; the production parameters are benchmarked.
var cheap = argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	t.Parallel()
	h := argon2id.New(cheap)
	enc, err := h.Hash(ctx, "correct horse battery staple")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$"), enc)

	ok, err := h.Verify(ctx, "correct horse battery staple", enc)
	require.NoError(t, err)
	require.True(t, ok)

	ok, err = h.Verify(ctx, "correct horse battery stapler", enc)
	require.NoError(t, err)
	require.False(t, ok)

	again, err := h.Hash(ctx, "correct horse battery staple")
	require.NoError(t, err)
	require.NotEqual(t, enc, again, "salts must differ")
}

func TestVerifyUsesStoredParams(t *testing.T) {
	t.Parallel()
	old, err := argon2id.New(cheap).Hash(ctx, "pw-from-an-older-policy")
	require.NoError(t, err)
	stronger := argon2id.New(argon2id.Params{MemoryKiB: 128, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32})
	ok, err := stronger.Verify(ctx, "pw-from-an-older-policy", old)
	require.NoError(t, err)
	require.True(t, ok)
}

// TestVerifyTakesArgon2iToo: the Argon2 reference implementation's own
// Argon2i example (password "password", salt "somesalt") verifies, as
// migrated users' hashes must.
func TestVerifyTakesArgon2iToo(t *testing.T) {
	t.Parallel()
	const reference = "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
	ok, err := argon2id.New(cheap).Verify(ctx, "password", reference)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = argon2id.New(cheap).Verify(ctx, "passw0rd", reference)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	h := argon2id.New(cheap)
	for _, enc := range []string{"", "plain", "$argon2d$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=x$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		_, err := h.Verify(ctx, "pw", enc)
		require.ErrorIs(t, err, argon2id.ErrMalformed, enc)
	}
}

func BenchmarkLoginVerifyOWASP(b *testing.B) {
	h := argon2id.New(argon2id.OWASP)
	enc, err := h.Hash(ctx, "correct horse battery staple")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := h.Verify(ctx, "correct horse battery staple", enc); !ok {
			b.Fatal("mismatch")
		}
	}
}

// A stored hash whose parameters would make one login allocate or spin
// without bound is refused before any work is done.
func TestVerifyRefusesUnboundedParameters(t *testing.T) {
	t.Parallel()
	h := argon2id.New(cheap)
	key := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for _, enc := range []string{
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + key, // 4 TiB
		"$argon2id$v=19$m=1048577,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + key,    // just over 1 GiB
		"$argon2id$v=19$m=64,t=1000000,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + key,
		"$argon2id$v=19$m=64,t=1,p=255$c2FsdHNhbHRzYWx0c2FsdA$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + strings.Repeat("A", 200),
	} {
		start := time.Now()
		_, err := h.Verify(ctx, "pw", enc)
		require.ErrorIs(t, err, argon2id.ErrMalformed, enc)
		require.Less(t, time.Since(start), time.Second)
	}
}

// A burst of hashes larger than the semaphore: those that cannot get a
// slot within the wait are turned away with a retryable error, and never
// more than the limit run at once.
func TestBurstBeyondTheSemaphoreIsTurnedAway(t *testing.T) {
	t.Parallel()
	slow := argon2id.Params{MemoryKiB: 8 << 10, Iterations: 4, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	enc, err := argon2id.New(slow).Hash(ctx, "pw")
	require.NoError(t, err)
	h := argon2id.NewLimited(slow, 2, 10*time.Millisecond)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, busy int
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			match, err := h.Verify(ctx, "pw", enc)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && match:
				ok++
			case fault.Of(err, fault.Unavailable):
				var fe *fault.Error
				require.ErrorAs(t, err, &fe)
				require.Equal(t, 1, fe.RetryAfterSeconds)
				busy++
			default:
				t.Errorf("unexpected: %v %v", match, err)
			}
		}()
	}
	wg.Wait()
	require.GreaterOrEqual(t, ok, 2)
	require.Positive(t, busy, "a burst beyond the slots is turned away")
	require.Equal(t, 16, ok+busy)

}

// TestAHashWaitsTheDefaultWaitForASlot: with every slot taken, a hash
// gets ErrBusy once DefaultWait has passed, and not before.
func TestAHashWaitsTheDefaultWaitForASlot(t *testing.T) {
	t.Parallel()
	h := argon2id.NewLimited(argon2id.OWASP, 1, 0)
	release, err := h.Hold(ctx)
	require.NoError(t, err)
	defer release()
	start := time.Now()
	_, err = h.Verify(ctx, "pw", "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	require.ErrorIs(t, err, argon2id.ErrBusy)
	require.GreaterOrEqual(t, time.Since(start), argon2id.DefaultWait)
}

func TestSlotsFollowMemoryAndCPUs(t *testing.T) {
	t.Parallel()
	cpus := min(runtime.NumCPU(), runtime.GOMAXPROCS(0))
	n := argon2id.Slots(argon2id.OWASP)
	require.GreaterOrEqual(t, n, 1)
	require.LessOrEqual(t, n, cpus, "one hash a CPU: more at once only take more memory")

	wide := argon2id.OWASP
	wide.Parallelism = uint8(cpus)
	require.Equal(t, 1, argon2id.Slots(wide), "a hash whose lanes fill every CPU runs alone")

	huge := argon2id.OWASP
	huge.MemoryKiB = 1 << 30 // 1 TiB: more than a quarter of any memory here
	require.Equal(t, 1, argon2id.Slots(huge), "at least one slot, whatever the memory")
}

// BenchmarkColdBurst verifies 16 passwords at once, as a burst of logins
// does, after the heap's free memory went back to the operating system,
// as it does in a quiet spell: how long the burst takes with slots hashes
// running at once (the others wait their turn).
func BenchmarkColdBurst(b *testing.B) {
	enc, err := argon2id.New(argon2id.OWASP).Hash(ctx, "a long enough password")
	require.NoError(b, err)
	for _, slots := range []int{1, 2, 4, 8} {
		b.Run("slots="+strconv.Itoa(slots), func(b *testing.B) {
			h := argon2id.NewLimited(argon2id.OWASP, slots, time.Hour)
			for b.Loop() {
				b.StopTimer()
				debug.FreeOSMemory()
				b.StartTimer()
				var wg sync.WaitGroup
				for range 16 {
					wg.Go(func() {
						if ok, err := h.Verify(ctx, "a long enough password", enc); !ok || err != nil {
							b.Errorf("verify: %v %v", ok, err)
						}
					})
				}
				wg.Wait()
			}
		})
	}
}
