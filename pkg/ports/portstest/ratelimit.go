package portstest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// RateLimiter checks a ports.RateLimiter.
func RateLimiter(t *testing.T, newLimiter func(t *testing.T) ports.RateLimiter) {
	ctx := context.Background()
	limit := ports.RateLimit{Rate: 5, Period: time.Minute, Burst: 5}

	t.Run("admits the burst then denies with a retry hint", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
		for i := range 5 {
			d, err := l.Allow(ctx, "ip:1", limit)
			require.NoError(t, err)
			require.True(t, d.Allowed, "request %d", i+1)
			require.Equal(t, 4-i, d.Remaining)
		}
		d, err := l.Allow(ctx, "ip:1", limit)
		require.NoError(t, err)
		require.False(t, d.Allowed)
		require.Greater(t, d.RetryAfter, time.Duration(0))
		require.LessOrEqual(t, d.RetryAfter, 12*time.Second+time.Second)

		other, err := l.Allow(ctx, "ip:2", limit)
		require.NoError(t, err)
		require.True(t, other.Allowed, "keys are independent")
	})

	t.Run("concurrent requests admit exactly the limit", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
		big := ports.RateLimit{Rate: 50, Period: time.Hour, Burst: 50}
		var admitted atomic.Int32
		var wg sync.WaitGroup
		for range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := l.Allow(ctx, "user:race", big)
				require.NoError(t, err)
				if d.Allowed {
					admitted.Add(1)
				}
			}()
		}
		wg.Wait()
		require.EqualValues(t, 50, admitted.Load())
	})

	t.Run("several budgets are charged in turn, up to the first refusal", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
		tight := ports.RateLimit{Rate: 2, Period: time.Hour, Burst: 2}
		loose := ports.RateLimit{Rate: 100, Period: time.Hour, Burst: 100}
		both := []ports.RateBudget{{Key: "each:a", Limit: tight}, {Key: "each:b", Limit: loose}}
		for i := range 2 {
			ds, err := ports.AllowEach(ctx, l, both)
			require.NoError(t, err)
			require.Len(t, ds, 2)
			require.True(t, ds[0].Allowed && ds[1].Allowed)
			require.Equal(t, 1-i, ds[0].Remaining)
			require.Equal(t, 99-i, ds[1].Remaining)
		}
		ds, err := ports.AllowEach(ctx, l, both)
		require.NoError(t, err)
		require.Len(t, ds, 1, "no decision after the refusal")
		require.False(t, ds[0].Allowed)
		require.Greater(t, ds[0].RetryAfter, time.Duration(0))
		d, err := l.Allow(ctx, "each:b", loose)
		require.NoError(t, err)
		require.Equal(t, 97, d.Remaining, "the refused request spent nothing of the budget after")

		ds, err = ports.AllowEach(ctx, l, []ports.RateBudget{{Key: "each:c", Limit: loose}, {Key: "each:a", Limit: tight}})
		require.NoError(t, err)
		require.Len(t, ds, 2)
		require.True(t, ds[0].Allowed)
		require.False(t, ds[1].Allowed)
		require.Equal(t, 99, ds[0].Remaining, "the budget before the refusal is spent")
	})

	t.Run("several budgets at once admit exactly the tighter limit", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
		loose := ports.RateLimit{Rate: 1000, Period: time.Hour, Burst: 1000}
		tight := ports.RateLimit{Rate: 50, Period: time.Hour, Burst: 50}
		budgets := []ports.RateBudget{{Key: "each:ip", Limit: loose}, {Key: "each:user", Limit: tight}}
		var admitted atomic.Int32
		var wg sync.WaitGroup
		for range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ds, err := ports.AllowEach(ctx, l, budgets)
				require.NoError(t, err)
				if len(ds) == 2 && ds[1].Allowed {
					admitted.Add(1)
				}
			}()
		}
		wg.Wait()
		require.EqualValues(t, 50, admitted.Load())
		d, err := l.Allow(ctx, "each:ip", loose)
		require.NoError(t, err)
		require.Equal(t, 799, d.Remaining, "the first budget was spent by all 200, and now one more")
	})
}
