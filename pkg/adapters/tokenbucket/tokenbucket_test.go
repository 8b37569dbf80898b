package tokenbucket_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
)

func TestRateLimiter(t *testing.T) {
	portstest.RateLimiter(t, func(*testing.T) ports.RateLimiter { return tokenbucket.New() })
}

// TestTheLimiterKeepsAtMostMaxKeysBuckets crosses the bound on buckets:
// the least recently charged key is forgotten (and starts again full),
// the others keep their state.
func TestTheLimiterKeepsAtMostMaxKeysBuckets(t *testing.T) {
	ctx := context.Background()
	l := tokenbucket.New()
	one := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 1}
	spend := func(key string) bool {
		d, err := l.Allow(ctx, key, one)
		require.NoError(t, err)
		return d.Allowed
	}
	require.True(t, spend("oldest"))
	require.False(t, spend("oldest"), "its one request is spent")
	for i := range tokenbucket.MaxKeys - 1 {
		require.True(t, spend(fmt.Sprint("k", i)))
	}
	require.False(t, spend("oldest"), "MaxKeys buckets fit")
	require.True(t, spend("one more")) // the bound is crossed: k0 goes
	require.False(t, spend("oldest"), "a recently charged key keeps its state")
	require.True(t, spend("k0"), "the least recently charged key was forgotten")
}

// TestAChangedLimitStartsABucketOfItsOwn: a route table reloaded with
// another limit for a class charges a new bucket, not the old one's
// remainder.
func TestAChangedLimitStartsABucketOfItsOwn(t *testing.T) {
	ctx := context.Background()
	l := tokenbucket.New()
	tight := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 1}
	loose := ports.RateLimit{Rate: 5, Period: time.Hour, Burst: 5}
	for i, want := range []bool{true, false} {
		d, err := l.Allow(ctx, "ip:default:10.0.0.1", tight)
		require.NoError(t, err)
		require.Equal(t, want, d.Allowed, "request %d under the tight limit", i+1)
	}
	d, err := l.Allow(ctx, "ip:default:10.0.0.1", loose)
	require.NoError(t, err)
	require.True(t, d.Allowed, "the new limit's bucket starts full")
	require.Equal(t, 4, d.Remaining)
}
