package ports

import (
	"context"
	"time"
)

// RateLimit is a budget: Rate requests per Period, with bursts up to Burst.
type RateLimit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// RateDecision is a limiter's answer for one request.
type RateDecision struct {
	Allowed    bool
	Remaining  int           // requests still allowed right now
	ResetAfter time.Duration // until the budget is full again
	RetryAfter time.Duration // when denied: until one request is allowed
}

// RateLimiter enforces budgets per key. Decisions for one key are atomic:
// N concurrent requests against a budget of L admit exactly min(N, L).
type RateLimiter interface {
	// Allow spends one request of key's budget if it can. An error means
	// the limiter could not decide (its store is unreachable).
	Allow(ctx context.Context, key string, limit RateLimit) (RateDecision, error)
}
