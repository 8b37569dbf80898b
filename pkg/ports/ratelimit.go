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

// RateBudget is one budget a request spends from: its key and its limit.
type RateBudget struct {
	Key   string
	Limit RateLimit
}

// MultiRateLimiter is a RateLimiter that can charge several budgets in one
// call (one round trip to a shared store). It decides as calling Allow on
// each in turn would: it stops at the first budget that refuses, so the
// budgets before it are spent and those after it are not; the decisions
// returned are those made, in order.
type MultiRateLimiter interface {
	RateLimiter
	AllowEach(ctx context.Context, budgets []RateBudget) ([]RateDecision, error)
}

// AllowEach charges budgets through l: in one call when l is a
// MultiRateLimiter, else by Allow on each in turn, with the same result.
func AllowEach(ctx context.Context, l RateLimiter, budgets []RateBudget) ([]RateDecision, error) {
	if m, ok := l.(MultiRateLimiter); ok {
		return m.AllowEach(ctx, budgets)
	}
	return AllowInTurn(ctx, l, budgets)
}

// AllowInTurn is AllowEach by Allow on each budget in turn.
func AllowInTurn(ctx context.Context, l RateLimiter, budgets []RateBudget) ([]RateDecision, error) {
	out := make([]RateDecision, 0, len(budgets))
	for _, b := range budgets {
		d, err := l.Allow(ctx, b.Key, b.Limit)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
		if !d.Allowed {
			break
		}
	}
	return out, nil
}
