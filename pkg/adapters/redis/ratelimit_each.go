package redis

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// allowEach is go-redis/redis_rate's GCRA (its allowN, cost 1) over the
// budgets of several AllowEach calls in one run: each call's budgets in
// turn, stopping at the first that refuses, then the next call's, all at
// one reading of Redis's clock. Keys and stored values (the theoretical
// arrival time, seconds since 2017 as a decimal, expiring when the budget
// is full again) are redis_rate's, so Allow and AllowEach share budgets.
//
// ARGV is, for each call, its number of budgets and then each budget's
// emission interval and burst offset (the same float64 division and
// product redis_rate's script made, sent computed); KEYS are the budgets'
// keys in the same order. The answer is four integers a budget: allowed
// (1, 0, or -1 for a budget not charged because one before it in its call
// refused), remaining, and the waits in whole microseconds (retry after,
// -1 when allowed; reset after).
//
// Redis runs scripts one at a time, so the script is the budgets' serial
// cost. It reads each key once and writes each key it charged once, at
// the end: the calls of a busy gateway share their client's and identity's
// keys. It converts no string it need not (for one call of two budgets,
// redis_rate's script took 14-17 µs here and this one 12-14, per INFO
// commandstats) and drops redis.replicate_commands(), a no-op since Redis
// 5, whose scripts replicate their effects.
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
local tonumber, floor, ceil = tonumber, math.floor, math.ceil
local t = redis.call("TIME")
local now = (t[1] - 1483228800) + t[2] / 1000000
local tats, charged, out = {}, {}, {}
local a, k = 1, 0
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  a = a + 1
  local refused = false
  for _ = 1, n do
    k = k + 1
    local j = 4 * k
    if refused then
      out[j - 3], out[j - 2], out[j - 1], out[j] = -1, 0, 0, 0
    else
      local key, interval = KEYS[k], tonumber(ARGV[a])
      local tat = tats[key]
      if tat == nil then
        tat = tonumber(redis.call("GET", key)) or now
      end
      if tat < now then
        tat = now
      end
      local new_tat = tat + interval
      local diff = now - new_tat + tonumber(ARGV[a + 1])
      if diff < 0 then
        tats[key] = tat
        out[j - 3], out[j - 2], out[j - 1], out[j] = 0, 0, floor(-diff * 1e6), floor((tat - now) * 1e6)
        refused = true
      else
        if not charged[key] then
          charged[key] = true
          charged[#charged + 1] = key
        end
        tats[key] = new_tat
        out[j - 3], out[j - 2], out[j - 1], out[j] = 1, diff / interval, -1, floor((new_tat - now) * 1e6)
      end
    end
    a = a + 2
  end
end
for _, key in ipairs(charged) do
  -- An interval below the clock's resolution here (a rate of a billion a
  -- second) leaves the time where it was: nothing to keep, and EX 0 is
  -- an error.
  local ttl = ceil(tats[key] - now)
  if ttl > 0 then
    redis.call("SET", key, tats[key], "EX", ttl)
  end
end
return out
`)

// redisRatePrefix is what redis_rate puts before every key.
const redisRatePrefix = "rate:"

// maxBudgetsPerRun bounds one script run, which Redis runs while it does
// nothing else: at most a GET and a SET a budget.
const maxBudgetsPerRun = 128

// defaultRunTimeout bounds a run that carries other callers' charges,
// which no one caller's context may cut short (go-redis's read and write
// timeouts bound it too).
const defaultRunTimeout = 10 * time.Second

var _ ports.MultiRateLimiter = (*RateLimiter)(nil)

// charge is one AllowEach call waiting for a script run.
type charge struct {
	budgets []ports.RateBudget
	out     []ports.RateDecision
	err     error
	done    chan struct{} // closed when out and err are set
}

// runs is an AllowEach queue: the calls that wait for the next script run,
// while one is under way.
type runs struct {
	mu     sync.Mutex
	queue  []*charge
	flying bool
}

// AllowEach charges budgets (ports.MultiRateLimiter) in a script run of
// their own when none is under way; otherwise they wait for the next run,
// which takes every call that queued meanwhile. Under load a replica thus
// costs Redis one run, and itself one round trip, for the requests that
// arrived during the run before, in their order of arrival; alone, a call
// costs what it did before.
func (l *RateLimiter) AllowEach(ctx context.Context, budgets []ports.RateBudget) ([]ports.RateDecision, error) {
	if len(budgets) == 0 {
		return []ports.RateDecision{}, nil
	}
	c := &charge{budgets: budgets}
	l.runs.mu.Lock()
	if l.runs.flying {
		// A copy: the caller may leave (its context ended) and reuse its
		// slice before the run reads it.
		c.budgets = slices.Clone(budgets)
		c.done = make(chan struct{})
		l.runs.queue = append(l.runs.queue, c)
		l.runs.mu.Unlock()
		select {
		case <-c.done:
			return c.out, c.err
		case <-ctx.Done():
			// The run may still charge the budgets, as a request cut
			// short on its way to Redis may.
			return nil, Unavailable(ctx.Err())
		}
	}
	l.runs.flying = true
	l.runs.mu.Unlock()
	one := [1]*charge{c}
	l.run(ctx, one[:])
	l.runs.mu.Lock()
	if len(l.runs.queue) == 0 {
		l.runs.flying = false
		l.runs.mu.Unlock()
	} else {
		l.runs.mu.Unlock()
		go l.drain()
	}
	return c.out, c.err
}

// drain runs the queued calls, a run at a time, until none is left.
func (l *RateLimiter) drain() {
	var batch []*charge
	for {
		l.runs.mu.Lock()
		batch = l.take(batch[:0])
		if len(batch) == 0 {
			l.runs.flying = false
			l.runs.mu.Unlock()
			return
		}
		l.runs.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), l.runTimeout)
		l.run(ctx, batch)
		cancel()
		for _, c := range batch {
			close(c.done)
		}
		clear(batch)
	}
}

// take moves the queue's oldest calls into batch, at most
// maxBudgetsPerRun budgets (a call of more goes alone). l.runs.mu is held.
func (l *RateLimiter) take(batch []*charge) []*charge {
	q, n, budgets := l.runs.queue, 0, 0
	for n < len(q) && (n == 0 || budgets+len(q[n].budgets) <= maxBudgetsPerRun) {
		budgets += len(q[n].budgets)
		n++
	}
	batch = append(batch, q[:n]...)
	rest := copy(q, q[n:])
	clear(q[rest:])
	l.runs.queue = q[:rest]
	return batch
}

// run charges batch's calls in one script run and sets each one's answer.
func (l *RateLimiter) run(ctx context.Context, batch []*charge) {
	n := 0
	for _, c := range batch {
		n += len(c.budgets)
	}
	keys := make([]string, 0, n)
	args := make([]any, 0, len(batch)+2*n)
	for _, c := range batch {
		args = append(args, len(c.budgets))
		for _, b := range c.budgets {
			keys = append(keys, redisRatePrefix+l.prefix+b.Key)
			// redis_rate's script: period / rate, and that times burst.
			interval := b.Limit.Period.Seconds() / float64(b.Limit.Rate)
			args = append(args, interval, interval*float64(b.Limit.Burst))
		}
	}
	v, err := allowEach.Run(ctx, l.rdb, keys, args...).Int64Slice()
	if err == nil && len(v) != 4*n {
		err = fmt.Errorf("rate limit script: %d values for %d budgets", len(v), n)
	}
	if err != nil {
		err = Unavailable(err)
		for _, c := range batch {
			c.err = err
		}
		return
	}
	for _, c := range batch {
		c.out = make([]ports.RateDecision, 0, len(c.budgets))
		for range c.budgets {
			if v[0] >= 0 { // -1: not charged, one before it refused
				c.out = append(c.out, ports.RateDecision{
					Allowed:    v[0] > 0,
					Remaining:  int(v[1]),
					RetryAfter: max(time.Duration(v[2])*time.Microsecond, 0), // -1 when allowed
					ResetAfter: time.Duration(v[3]) * time.Microsecond,
				})
			}
			v = v[4:]
		}
	}
}
