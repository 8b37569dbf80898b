// Package tokenbucket is the in-process rate limiter: token buckets per
// key, for a gateway that runs without Redis. Budgets are per process, so
// replicas each enforce their own; pkg/adapters/redis shares one budget.
package tokenbucket

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/time/rate"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Limiter is an in-process ports.RateLimiter (token buckets from
// golang.org/x/time/rate), used when no Redis is configured. Budgets are
// per process; idle keys are forgotten after an hour.
type Limiter struct {
	mu      sync.Mutex
	buckets *expirable.LRU[bucketKey, *rate.Limiter]
	now     func() time.Time
}

var _ ports.RateLimiter = (*Limiter)(nil)

// New returns a limiter tracking up to 100,000 keys.
func New() *Limiter {
	return &Limiter{buckets: expirable.NewLRU[bucketKey, *rate.Limiter](100_000, nil, time.Hour), now: time.Now}
}

// bucketKey names a bucket: a key under one limit. A limit that changes
// (a route table reloaded) starts a bucket of its own. A struct rather
// than a string built from the parts, which cost four allocations a
// request.
type bucketKey struct {
	key         string
	period      time.Duration
	rate, burst int
}

// Allow spends one request of key's budget.
func (l *Limiter) Allow(_ context.Context, key string, limit ports.RateLimit) (ports.RateDecision, error) {
	every := limit.Period / time.Duration(max(limit.Rate, 1))
	k := bucketKey{key: key, period: limit.Period, rate: limit.Rate, burst: limit.Burst}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets.Get(k)
	if !ok {
		b = rate.NewLimiter(rate.Every(every), limit.Burst)
		l.buckets.Add(k, b)
	}
	now := l.now()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return ports.RateDecision{Allowed: false, RetryAfter: d, ResetAfter: every * time.Duration(limit.Burst)}, nil
	}
	tokens := b.TokensAt(now)
	missing := float64(limit.Burst) - tokens
	return ports.RateDecision{Allowed: true, Remaining: int(tokens), ResetAfter: time.Duration(missing * float64(every))}, nil
}
