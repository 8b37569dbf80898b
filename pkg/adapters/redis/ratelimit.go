package redis

import (
	"context"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// RateLimiter is the Redis ports.RateLimiter: GCRA in Lua scripts
// (go-redis/redis_rate's for Allow; AllowEach's own, which under load
// charges concurrent calls in one run), so replicas share budgets
// atomically.
type RateLimiter struct {
	limiter *redis_rate.Limiter
	rdb     goredis.Cmdable
	prefix  string
	runs    runs // AllowEach's
	// runTimeout bounds a run of queued calls (defaultRunTimeout).
	runTimeout time.Duration
}

var _ ports.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns a limiter whose keys start with prefix. rdb is a
// client; BenchmarkAllowEach also runs it over the client's
// auto-pipeliner, which the gateway does not use (docs/benchmarks.md).
func NewRateLimiter(rdb goredis.Cmdable, prefix string) *RateLimiter {
	return &RateLimiter{limiter: redis_rate.NewLimiter(rdb), rdb: rdb, prefix: prefix, runTimeout: defaultRunTimeout}
}

// Allow spends one request of key's budget.
func (l *RateLimiter) Allow(ctx context.Context, key string, limit ports.RateLimit) (ports.RateDecision, error) {
	res, err := l.limiter.Allow(ctx, l.prefix+key, redis_rate.Limit{Rate: limit.Rate, Period: limit.Period, Burst: limit.Burst})
	if err != nil {
		return ports.RateDecision{}, Unavailable(err)
	}
	return ports.RateDecision{Allowed: res.Allowed > 0, Remaining: res.Remaining, ResetAfter: res.ResetAfter, RetryAfter: max(res.RetryAfter, 0)}, nil
}
