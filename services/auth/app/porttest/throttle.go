package porttest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// LoginThrottle checks a app.LoginThrottle; newThrottle returns an empty one.
func LoginThrottle(t *testing.T, newThrottle func(t *testing.T) app.LoginThrottle) {
	ctx := context.Background()
	const window = time.Minute

	t.Run("counts failures per key", func(t *testing.T) {
		t.Parallel()
		th := newThrottle(t)
		ts := now()
		for i := range 3 {
			c, err := th.Fail(ctx, "account:a", window, ts.Add(time.Duration(i)*time.Second))
			require.NoError(t, err)
			require.Equal(t, domain.FailureCount{Failures: i + 1, Last: ts.Add(time.Duration(i) * time.Second)}, c)
		}
		got, err := th.Failures(ctx, "addr:1", "account:a", "account:b")
		require.NoError(t, err)
		require.Equal(t, []domain.FailureCount{{}, {Failures: 3, Last: ts.Add(2 * time.Second)}, {}}, got,
			"counts come back in the order of the keys; unknown keys are zero")
	})

	t.Run("a failure after a quiet window starts over", func(t *testing.T) {
		t.Parallel()
		th := newThrottle(t)
		ts := now()
		for i := range 4 {
			_, err := th.Fail(ctx, "addr:1", window, ts.Add(time.Duration(i)*50*time.Second))
			require.NoError(t, err, "each failure is within a window of the one before")
		}
		c, err := th.Fail(ctx, "addr:1", window, ts.Add(150*time.Second+window+time.Second))
		require.NoError(t, err)
		require.Equal(t, 1, c.Failures)
	})

	t.Run("reset forgets failures", func(t *testing.T) {
		t.Parallel()
		th := newThrottle(t)
		ts := now()
		for range 2 {
			_, err := th.Fail(ctx, "account:r", window, ts)
			require.NoError(t, err)
		}
		require.NoError(t, th.Reset(ctx, "account:r"))
		got, err := th.Failures(ctx, "account:r")
		require.NoError(t, err)
		require.Equal(t, []domain.FailureCount{{}}, got)
		c, err := th.Fail(ctx, "account:r", window, ts)
		require.NoError(t, err)
		require.Equal(t, 1, c.Failures)
	})

	t.Run("concurrent failures are all counted", func(t *testing.T) {
		t.Parallel()
		th := newThrottle(t)
		ts := now()
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := th.Fail(ctx, "pair:c|1", window, ts.Add(time.Duration(i)*time.Millisecond))
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		got, err := th.Failures(ctx, "pair:c|1")
		require.NoError(t, err)
		require.Equal(t, domain.FailureCount{Failures: 20, Last: ts.Add(19 * time.Millisecond)}, got[0],
			"every failure counted; the latest time kept whatever order they landed in")
	})
}
