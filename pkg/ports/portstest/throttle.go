package portstest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// LoginThrottle checks a ports.LoginThrottle; newThrottle returns an empty one.
func LoginThrottle(t *testing.T, newThrottle func(t *testing.T) ports.LoginThrottle) {
	ctx := context.Background()
	policy := domain.ThrottlePolicy{MaxFailures: 3, Window: time.Minute, Lockout: 5 * time.Minute}

	t.Run("locks after max failures, until lockout ends", func(t *testing.T) {
		t.Parallel()
		th := newThrottle(t)
		ts := now()
		for i := range 2 {
			until, err := th.Fail(ctx, "account:a", policy, ts.Add(time.Duration(i)*time.Second))
			require.NoError(t, err)
			require.True(t, until.IsZero(), "failure %d must not lock", i+1)
		}
		until, err := th.Fail(ctx, "account:a", policy, ts.Add(2*time.Second))
		require.NoError(t, err)
		require.Equal(t, ts.Add(2*time.Second+5*time.Minute), until)

		got, err := th.LockedUntil(ctx, "account:a", ts.Add(3*time.Second))
		require.NoError(t, err)
		require.Equal(t, until, got)
		got, err = th.LockedUntil(ctx, "account:b", ts)
		require.NoError(t, err)
		require.True(t, got.IsZero(), "keys are independent")
		got, err = th.LockedUntil(ctx, "account:a", until)
		require.NoError(t, err)
		require.True(t, got.IsZero(), "lockout ends")
	})

	t.Run("failures outside the window start over", func(t *testing.T) {
		t.Parallel()
		th := newThrottle(t)
		ts := now()
		for i := range 2 {
			_, err := th.Fail(ctx, "ip:1", policy, ts.Add(time.Duration(i)*time.Second))
			require.NoError(t, err)
		}
		until, err := th.Fail(ctx, "ip:1", policy, ts.Add(2*time.Minute))
		require.NoError(t, err)
		require.True(t, until.IsZero())
	})

	t.Run("reset forgets failures", func(t *testing.T) {
		t.Parallel()
		th := newThrottle(t)
		ts := now()
		for range 2 {
			_, err := th.Fail(ctx, "account:r", policy, ts)
			require.NoError(t, err)
		}
		require.NoError(t, th.Reset(ctx, "account:r"))
		until, err := th.Fail(ctx, "account:r", policy, ts)
		require.NoError(t, err)
		require.True(t, until.IsZero())
	})

	t.Run("concurrent failures are all counted", func(t *testing.T) {
		t.Parallel()
		th := newThrottle(t)
		ts := now()
		big := domain.ThrottlePolicy{MaxFailures: 20, Window: time.Minute, Lockout: time.Minute}
		var wg sync.WaitGroup
		for range 19 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := th.Fail(ctx, "account:c", big, ts)
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		until, err := th.Fail(ctx, "account:c", big, ts)
		require.NoError(t, err)
		require.False(t, until.IsZero(), "the 20th failure must lock")
	})
}
