package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// allowEach is go-redis/redis_rate's GCRA script (its allowN, cost 1),
// looped over several keys in one call so that a request's budgets cost
// one round trip, stopping at the first key that refuses. Keys and stored
// values are redis_rate's, so Allow and AllowEach share budgets.
//
// The GCRA script is Copyright (c) 2017 Pavel Pravosud
// (github.com/rwz/redis-gcra) as adapted by the go-redis/redis_rate
// authors (v10.0.1, lua.go), BSD 2-Clause licence: Copyright (c) 2013 The
// github.com/go-redis/redis_rate Authors. All rights reserved.
// Redistribution and use in source and binary forms, with or without
// modification, are permitted provided that the conditions of that licence
// are met (its text: the module's LICENSE file).
//
// All keys go to one server (a plain client): a Redis Cluster would need
// them in one hash slot.
var allowEach = goredis.NewScript(`
redis.replicate_commands()
local jan_1_2017 = 1483228800
local now = redis.call("TIME")
now = (now[1] - jan_1_2017) + (now[2] / 1000000)
local out = {}
for i, key in ipairs(KEYS) do
  local burst = tonumber(ARGV[3 * i - 2])
  local rate = tonumber(ARGV[3 * i - 1])
  local period = tonumber(ARGV[3 * i])
  local emission_interval = period / rate
  local burst_offset = emission_interval * burst
  local tat = redis.call("GET", key)
  if not tat then
    tat = now
  else
    tat = tonumber(tat)
  end
  tat = math.max(tat, now)
  local new_tat = tat + emission_interval
  local allow_at = new_tat - burst_offset
  local diff = now - allow_at
  local remaining = diff / emission_interval
  if remaining < 0 then
    table.insert(out, 0)
    table.insert(out, 0)
    table.insert(out, tostring(diff * -1))
    table.insert(out, tostring(tat - now))
    return out
  end
  local reset_after = new_tat - now
  if reset_after > 0 then
    redis.call("SET", key, new_tat, "EX", math.ceil(reset_after))
  end
  table.insert(out, 1)
  table.insert(out, remaining)
  table.insert(out, "-1")
  table.insert(out, tostring(reset_after))
end
return out
`)

// redisRatePrefix is what redis_rate puts before every key.
const redisRatePrefix = "rate:"

var _ ports.MultiRateLimiter = (*RateLimiter)(nil)

// AllowEach charges budgets in one script run (ports.MultiRateLimiter).
func (l *RateLimiter) AllowEach(ctx context.Context, budgets []ports.RateBudget) ([]ports.RateDecision, error) {
	keys := make([]string, len(budgets))
	args := make([]any, 0, 3*len(budgets))
	for i, b := range budgets {
		keys[i] = redisRatePrefix + l.prefix + b.Key
		args = append(args, b.Limit.Burst, b.Limit.Rate, b.Limit.Period.Seconds())
	}
	v, err := allowEach.Run(ctx, l.rdb, keys, args...).Slice()
	if err != nil {
		return nil, Unavailable(err)
	}
	if len(v)%4 != 0 || len(v) == 0 || len(v) > 4*len(budgets) {
		return nil, Unavailable(fmt.Errorf("rate limit script: %d values for %d budgets", len(v), len(budgets)))
	}
	out := make([]ports.RateDecision, 0, len(v)/4)
	for i := 0; i < len(v); i += 4 {
		allowed, _ := v[i].(int64)
		remaining, _ := v[i+1].(int64)
		retry, err1 := seconds(v[i+2])
		reset, err2 := seconds(v[i+3])
		if err1 != nil || err2 != nil {
			return nil, Unavailable(fmt.Errorf("rate limit script: %w", errors.Join(err1, err2)))
		}
		out = append(out, ports.RateDecision{Allowed: allowed > 0, Remaining: int(remaining), ResetAfter: reset, RetryAfter: max(retry, 0)})
	}
	return out, nil
}

// seconds reads the script's string of seconds as redis_rate does.
func seconds(v any) (time.Duration, error) {
	s, _ := v.(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if f == -1 {
		return -1, nil
	}
	return time.Duration(f * float64(time.Second)), nil
}
