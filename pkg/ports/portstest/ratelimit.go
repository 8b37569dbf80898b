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
}
