package tokenbucket_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// flaky is a shared limiter that fails while down is set, and otherwise
// allows everything, saying so with Remaining 99.
type flaky struct {
	down  atomic.Bool
	calls atomic.Int64
}

func (f *flaky) Allow(context.Context, string, ports.RateLimit) (ports.RateDecision, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return ports.RateDecision{}, errors.New("dial tcp redis:6379: connect: connection refused")
	}
	return ports.RateDecision{Allowed: true, Remaining: 99}, nil
}

func TestTheFallbackMeetsTheRateLimiterContract(t *testing.T) {
	portstest.RateLimiter(t, func(*testing.T) ports.RateLimiter {
		f := tokenbucket.NewFallback(tokenbucket.New(), slog.New(slog.DiscardHandler))
		return f
	})
}

// TestTheFallbackLimitsPerProcessWhileTheSharedLimiterIsDown: limits are
// still enforced during the outage, the outage costs one call to the shared
// limiter per Retry, the switch is logged and shown by the gauge, and the
// shared limiter decides again once it is back.
func TestTheFallbackLimitsPerProcessWhileTheSharedLimiterIsDown(t *testing.T) {
	ctx := context.Background()
	shared := &flaky{}
	logs := &testinfra.LogBuffer{}
	f := tokenbucket.NewFallback(shared, slog.New(slog.NewJSONHandler(logs, nil)))
	require.NoError(t, prometheus.NewRegistry().Register(f), "its metrics register as one collector")
	f.Retry = time.Minute
	clock := time.Now()
	f.SetNow(func() time.Time { return clock })
	limit := ports.RateLimit{Rate: 2, Period: time.Hour, Burst: 2}

	d, err := f.Allow(ctx, "k", limit)
	require.NoError(t, err)
	require.Equal(t, 99, d.Remaining, "the shared limiter decides while it is up")

	shared.down.Store(true)
	var allowed int
	for range 5 {
		d, err := f.Allow(ctx, "k", limit)
		require.NoError(t, err, "an outage is not the caller's error")
		if d.Allowed {
			allowed++
		}
	}
	require.Equal(t, 2, allowed, "the process's own buckets still limit")
	require.EqualValues(t, 2, shared.calls.Load(), "one failed call, then the shared limiter is left alone for Retry")
	require.Equal(t, 1.0, testutil.ToFloat64(f.Metrics()[0]))
	require.EqualValues(t, 5, testutil.ToFloat64(f.Metrics()[1]))
	require.Contains(t, logs.String(), "shared rate limiter unavailable: limiting per process")

	shared.down.Store(false)
	d, err = f.Allow(ctx, "k", limit)
	require.NoError(t, err)
	require.NotEqual(t, 99, d.Remaining, "within Retry of the failure, still local")
	clock = clock.Add(time.Minute)
	d, err = f.Allow(ctx, "k", limit)
	require.NoError(t, err)
	require.Equal(t, 99, d.Remaining, "after Retry, the shared limiter decides again")
	require.Equal(t, 0.0, testutil.ToFloat64(f.Metrics()[0]))
	require.Contains(t, logs.String(), "shared rate limiter back")
}

// hung is a shared limiter that answers only when its context ends: a
// Redis that accepts the connection and never replies.
type hung struct{ calls atomic.Int64 }

func (h *hung) Allow(ctx context.Context, _ string, _ ports.RateLimit) (ports.RateDecision, error) {
	h.calls.Add(1)
	<-ctx.Done()
	return ports.RateDecision{}, ctx.Err()
}

// TestAHungSharedLimiterCostsARequestAtMostTimeout: the shared limiter's
// answer is awaited for Timeout, not for the caller's whole deadline; then
// the process's buckets decide, and the hung limiter is left alone.
func TestAHungSharedLimiterCostsARequestAtMostTimeout(t *testing.T) {
	shared := &hung{}
	f := tokenbucket.NewFallback(shared, slog.New(slog.DiscardHandler))
	f.Timeout = 20 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := f.Allow(ctx, "k", ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 1})
	require.NoError(t, err, "the caller's deadline was far off: the timeout was the limiter's")
	require.True(t, d.Allowed, "decided by the process's buckets")
	require.Equal(t, 1.0, testutil.ToFloat64(f.Metrics()[0]), "the fallback is on")
	d, err = f.Allow(ctx, "k", ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 1})
	require.NoError(t, err)
	require.False(t, d.Allowed, "still limited, locally")
	require.EqualValues(t, 1, shared.calls.Load(), "the hung limiter is not asked again within Retry")
}

// multi is a shared limiter that takes several budgets in one call and
// counts the calls; down makes it fail.
type multi struct {
	flaky
	eachCalls atomic.Int64
}

func (m *multi) AllowEach(_ context.Context, budgets []ports.RateBudget) ([]ports.RateDecision, error) {
	m.eachCalls.Add(1)
	if m.down.Load() {
		return nil, errors.New("dial tcp redis:6379: connect: connection refused")
	}
	out := make([]ports.RateDecision, len(budgets))
	for i := range out {
		out[i] = ports.RateDecision{Allowed: true, Remaining: 99}
	}
	return out, nil
}

// TestSeveralBudgetsTakeOneCallToTheSharedLimiter: while the shared
// limiter is up, a request's budgets are one call to it; while it is down,
// this process's buckets decide each in turn, up to the first refusal.
func TestSeveralBudgetsTakeOneCallToTheSharedLimiter(t *testing.T) {
	ctx := context.Background()
	shared := &multi{}
	f := tokenbucket.NewFallback(shared, slog.New(slog.DiscardHandler))
	tight := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 1}
	budgets := []ports.RateBudget{{Key: "ip", Limit: tight}, {Key: "id", Limit: tight}}

	ds, err := ports.AllowEach(ctx, f, budgets)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, 99, ds[1].Remaining)
	require.EqualValues(t, 1, shared.eachCalls.Load())
	require.Zero(t, shared.calls.Load(), "not one call per budget")

	shared.down.Store(true)
	ds, err = ports.AllowEach(ctx, f, budgets)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.True(t, ds[0].Allowed && ds[1].Allowed, "local buckets, first request")
	ds, err = ports.AllowEach(ctx, f, budgets)
	require.NoError(t, err)
	require.Len(t, ds, 1, "the first refusal ends it")
	require.False(t, ds[0].Allowed)
	require.EqualValues(t, 3, testutil.ToFloat64(f.Metrics()[1]), "three local decisions")
}
