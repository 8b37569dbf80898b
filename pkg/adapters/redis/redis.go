// Package redis is what Lattice's Redis adapters share, over go-redis v9:
// the rate limiter whose budgets every gateway replica shares, readiness,
// and translating failures into the fault taxonomy. The auth service's
// session store is beneath it (sessionstore).
package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// Ping is a readiness check.
func Ping(rdb goredis.UniversalClient) func(context.Context) error {
	return func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
}

// Unavailable is a Redis failure as the fault taxonomy sees it: the store
// could not answer, so the caller may retry.
func Unavailable(err error) error {
	return fault.Wrap(fault.Unavailable, "the session store is unavailable", err)
}
