package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// allowEach is go-redis/redis_rate's GCRA (its allowN, cost 1), looped
// over several keys in one call so that a request's budgets cost one round
// trip, stopping at the first key that refuses. Keys and stored values
// (the theoretical arrival time, seconds since 2017 as a decimal, expiring
// when the budget is full again) are redis_rate's, so Allow and AllowEach
// share budgets.
//
// Redis runs scripts one at a time, and under the gateway's load the
// script is Redis's work: redis_rate's took 14-17 µs a call here (INFO
// commandstats, two budgets), this one 12-14. Each key's emission interval
// and burst offset come computed (the same float64 division and product
// the script made, sent exactly), and the waits go back as whole
// microseconds rather than strings, which the client parsed as floats. It
// drops redis.replicate_commands(), a no-op since Redis 5, whose scripts
// replicate their effects.
//
// The GCRA is Copyright (c) 2017 Pavel Pravosud (github.com/rwz/redis-gcra)
// as adapted by the go-redis/redis_rate authors (v10.0.1, lua.go), BSD
// 2-Clause licence: Copyright (c) 2013 The github.com/go-redis/redis_rate
// Authors. All rights reserved. Redistribution and use in source and
// binary forms, with or without modification, are permitted provided that
// the conditions of that licence are met (its text: the module's LICENSE
// file).
//
// All keys go to one server (a plain client): a Redis Cluster would need
// them in one hash slot.
var allowEach = goredis.NewScript(`
local tonumber, floor = tonumber, math.floor
local t = redis.call("TIME")
local now = (t[1] - 1483228800) + t[2] / 1000000
local out = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tat = tonumber(redis.call("GET", key)) or now
  if tat < now then
    tat = now
  end
  local new_tat = tat + interval
  local diff = now - new_tat + tonumber(ARGV[2 * i])
  local j = 4 * i
  if diff < 0 then
    out[j - 3], out[j - 2], out[j - 1], out[j] = 0, 0, floor(-diff * 1e6), floor((tat - now) * 1e6)
    return out
  end
  local reset_after = new_tat - now
  if reset_after > 0 then
    redis.call("SET", key, new_tat, "EX", math.ceil(reset_after))
  end
  out[j - 3], out[j - 2], out[j - 1], out[j] = 1, diff / interval, -1, floor(reset_after * 1e6)
end
return out
`)

// redisRatePrefix is what redis_rate puts before every key.
const redisRatePrefix = "rate:"

var _ ports.MultiRateLimiter = (*RateLimiter)(nil)

// AllowEach charges budgets in one script run (ports.MultiRateLimiter).
func (l *RateLimiter) AllowEach(ctx context.Context, budgets []ports.RateBudget) ([]ports.RateDecision, error) {
	keys := make([]string, len(budgets))
	args := make([]any, 0, 2*len(budgets))
	for i, b := range budgets {
		keys[i] = redisRatePrefix + l.prefix + b.Key
		// redis_rate's script: period / rate, and that times burst.
		interval := b.Limit.Period.Seconds() / float64(b.Limit.Rate)
		args = append(args, interval, interval*float64(b.Limit.Burst))
	}
	v, err := allowEach.Run(ctx, l.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, Unavailable(err)
	}
	if len(v)%4 != 0 || len(v) == 0 || len(v) > 4*len(budgets) {
		return nil, Unavailable(fmt.Errorf("rate limit script: %d values for %d budgets", len(v), len(budgets)))
	}
	out := make([]ports.RateDecision, 0, len(v)/4)
	for i := 0; i < len(v); i += 4 {
		out = append(out, ports.RateDecision{
			Allowed:    v[i] > 0,
			Remaining:  int(v[i+1]),
			RetryAfter: max(time.Duration(v[i+2])*time.Microsecond, 0), // -1 when allowed
			ResetAfter: time.Duration(v[i+3]) * time.Microsecond,
		})
	}
	return out, nil
}
