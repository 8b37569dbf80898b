// Package tokenbucket is the in-process rate limiter: token buckets per
// key, for a gateway that runs without Redis. Budgets are per process, so
// replicas each enforce their own; pkg/adapters/redis shares one budget.
package tokenbucket

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Limiter is an in-process ports.RateLimiter (token buckets from
// golang.org/x/time/rate), used when no Redis is configured. Budgets are
// per process; beyond 100,000 keys the least recently charged are
// forgotten, and a forgotten key starts again with a full bucket.
type Limiter struct {
	mu sync.Mutex
	// buckets has no expiry by time: a bucket idle long enough is full,
	// as a new one is, so only their number needs a bound. An expiring
	// cache read the clock on every lookup, twice a request, and kept a
	// lock of its own under mu.
	buckets *simplelru.LRU[string, *bucket]
	now     func() time.Time
}

var _ ports.MultiRateLimiter = (*Limiter)(nil)

// maxKeys bounds the buckets a Limiter keeps.
const maxKeys = 100_000

// New returns a limiter tracking up to 100,000 keys.
func New() *Limiter {
	buckets, err := simplelru.NewLRU[string, *bucket](maxKeys, nil)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &Limiter{buckets: buckets, now: time.Now}
}

// bucket is a key's token bucket under the limit it was made for. A
// limit that changes (a route table reloaded) starts a bucket of its
// own. Keyed by the key alone: a map keyed by a struct of key and limit
// hashed all four fields the slow, general way on every lookup.
type bucket struct {
	limit ports.RateLimit
	*rate.Limiter
}

// Allow spends one request of key's budget.
func (l *Limiter) Allow(_ context.Context, key string, limit ports.RateLimit) (ports.RateDecision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.allowLocked(l.now(), key, limit), nil
}

// AllowEach spends one request of each budget in turn, up to the first
// that refuses, as ports.AllowInTurn would by Allow, under one lock and
// one reading of the clock: the gateway charges two budgets a request.
func (l *Limiter) AllowEach(_ context.Context, budgets []ports.RateBudget) ([]ports.RateDecision, error) {
	out := make([]ports.RateDecision, 0, len(budgets))
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, b := range budgets {
		d := l.allowLocked(now, b.Key, b.Limit)
		out = append(out, d)
		if !d.Allowed {
			break
		}
	}
	return out, nil
}

// allowLocked is Allow at now, with l.mu held.
func (l *Limiter) allowLocked(now time.Time, key string, limit ports.RateLimit) ports.RateDecision {
	every := limit.Period / time.Duration(max(limit.Rate, 1))
	b, ok := l.buckets.Get(key)
	if !ok || b.limit != limit {
		b = &bucket{limit: limit, Limiter: rate.NewLimiter(rate.Every(every), limit.Burst)}
		l.buckets.Add(key, b)
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return ports.RateDecision{Allowed: false, RetryAfter: d, ResetAfter: every * time.Duration(limit.Burst)}
	}
	tokens := b.TokensAt(now)
	missing := float64(limit.Burst) - tokens
	return ports.RateDecision{Allowed: true, Remaining: int(tokens), ResetAfter: time.Duration(missing * float64(every))}
}
