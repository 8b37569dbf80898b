package redis_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/redis"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

// newClient is a client of a real Redis, closed with the test, and the
// prefix that keeps the test's keys apart.
func newClient(t *testing.T) (*goredis.Client, string) {
	srv := testinfra.RedisServer(t)
	opts, err := redis.Options(srv.URL, "")
	require.NoError(t, err)
	rdb := goredis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb, srv.Prefix
}

func TestRateLimiter(t *testing.T) {
	portstest.RateLimiter(t, func(t *testing.T) ports.RateLimiter {
		rdb, prefix := newClient(t)
		return redis.NewRateLimiter(rdb, prefix)
	})
}

// TestAllowEachWaitsAreRedisRates: the script's waits, sent back as whole
// microseconds, are the ones redis_rate's Allow gives for the same budget
// a moment later.
func TestAllowEachWaitsAreRedisRates(t *testing.T) {
	rdb, prefix := newClient(t)
	l := redis.NewRateLimiter(rdb, prefix)
	ctx := context.Background()
	limit := ports.RateLimit{Rate: 5, Period: time.Minute, Burst: 5} // one request each 12 s
	budgets := []ports.RateBudget{{Key: "waits", Limit: limit}}

	ds, err := l.AllowEach(ctx, budgets)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.True(t, ds[0].Allowed)
	require.Equal(t, 4, ds[0].Remaining)
	require.Zero(t, ds[0].RetryAfter)
	require.InDelta(t, 12*time.Second, ds[0].ResetAfter, float64(100*time.Millisecond))
	for range 4 {
		d, err := l.Allow(ctx, "waits", limit)
		require.NoError(t, err)
		require.True(t, d.Allowed)
	}

	ds, err = l.AllowEach(ctx, budgets)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.False(t, ds[0].Allowed)
	require.Zero(t, ds[0].Remaining)
	d, err := l.Allow(ctx, "waits", limit)
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Greater(t, ds[0].RetryAfter, 11*time.Second)
	require.InDelta(t, d.RetryAfter, ds[0].RetryAfter, float64(100*time.Millisecond))
	require.Greater(t, ds[0].ResetAfter, 59*time.Second)
	require.InDelta(t, d.ResetAfter, ds[0].ResetAfter, float64(100*time.Millisecond))
}

// BenchmarkAllowEach charges a request's two budgets from 16 goroutines,
// as a gateway under load does, through the client and through its
// auto-pipeliner. Besides the time per decision it reports the process's
// own CPU per decision (cpu-ns/op), which Redis's share does not blur,
// Redis's time in the script and its whole CPU (system calls included)
// per decision, and the decisions a script run carried.
func BenchmarkAllowEach(b *testing.B) {
	srv := testinfra.RedisServer(b)
	opts, err := redis.Options(srv.URL, "")
	require.NoError(b, err)
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	ap, err := rdb.AutoPipeline()
	require.NoError(b, err)
	unbounded := ports.RateLimit{Rate: 1 << 30, Period: time.Hour, Burst: 1 << 30}
	for _, c := range []struct {
		name string
		rdb  goredis.Cmdable
	}{{"client", rdb}, {"auto-pipelined", ap}} {
		b.Run(c.name, func(b *testing.B) {
			l := redis.NewRateLimiter(c.rdb, srv.Prefix)
			var n atomic.Int64
			b.SetParallelism(8) // 8 goroutines a core: 16 on two
			b.ReportAllocs()
			before, redisBefore := testinfra.CPUTime(b), serverCounters(b, rdb)
			b.RunParallel(func(pb *testing.PB) {
				budgets := []ports.RateBudget{{Key: "ip:" + strconv.FormatInt(n.Add(1), 10), Limit: unbounded}, {Key: "user", Limit: unbounded}}
				for pb.Next() {
					if _, err := l.AllowEach(context.Background(), budgets); err != nil {
						b.Error(err)
						return
					}
				}
			})
			spent := serverCounters(b, rdb).Sub(redisBefore)
			b.ReportMetric(float64(testinfra.CPUTime(b)-before)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(spent.ScriptTime)/float64(b.N), "redis-ns/op")
			b.ReportMetric(float64(spent.CPU)/float64(b.N), "redis-cpu-ns/op")
			if spent.ScriptRuns > 0 {
				b.ReportMetric(float64(b.N)/float64(spent.ScriptRuns), "decisions/run")
			}
		})
	}
}

// serverCounters reads the server's counters or fails the benchmark.
func serverCounters(tb testing.TB, rdb *goredis.Client) redis.ServerCounters {
	c, err := redis.ReadServerCounters(context.Background(), rdb)
	require.NoError(tb, err)
	return c
}

// scriptHook holds the first script run until hold is closed, fails the
// run numbered fail (from 1; 0 for none), and leaves the run numbered
// stall unanswered until its context ends.
type scriptHook struct {
	hold  chan struct{}
	fail  int32
	stall int32
	runs  *atomic.Int32
}

func (h scriptHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h scriptHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

func (h scriptHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if cmd.Name() != "evalsha" {
			return next(ctx, cmd)
		}
		n := h.runs.Add(1)
		if n == 1 {
			<-h.hold
		}
		var err error
		switch n {
		case h.fail:
			err = errors.New("connection reset by peer")
		case h.stall:
			<-ctx.Done()
			err = ctx.Err()
		default:
			return next(ctx, cmd)
		}
		cmd.SetErr(err)
		return err
	}
}

// loose is a budget no test here spends: a hundred at once.
var loose = ports.RateLimit{Rate: 100, Period: time.Hour, Burst: 100}

// heldRun is a limiter whose next script run, a call of budgets made
// here, waits until release is called (h says what later runs meet);
// runs counts the runs so far and first gets that call's answer. The
// script is loaded already, so a run is one EVALSHA.
func heldRun(t *testing.T, h scriptHook, budgets ...ports.RateBudget) (l *redis.RateLimiter, runs *atomic.Int32, first chan answer, release func()) {
	rdb, prefix := newClient(t)
	l = redis.NewRateLimiter(rdb, prefix)
	_, err := l.AllowEach(context.Background(), []ports.RateBudget{{Key: "load", Limit: ports.RateLimit{Rate: 1, Period: time.Second, Burst: 1}}})
	require.NoError(t, err)
	hold := make(chan struct{})
	runs = new(atomic.Int32)
	h.hold, h.runs = hold, runs
	rdb.AddHook(h)
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	first = make(chan answer, 1)
	go func() {
		ds, err := l.AllowEach(context.Background(), budgets)
		first <- answer{ds, err}
	}()
	require.Eventually(t, func() bool { return runs.Load() == 1 }, 5*time.Second, time.Millisecond)
	return l, runs, first, release
}

type answer struct {
	ds  []ports.RateDecision
	err error
}

// queue starts AllowEach calls one after another, each once the one
// before it waits in the limiter's queue, so that they queue in order.
func queue(t *testing.T, ctx context.Context, l *redis.RateLimiter, calls ...[]ports.RateBudget) []chan answer {
	out := make([]chan answer, len(calls))
	queued := redis.Queued(l)
	for i, budgets := range calls {
		out[i] = make(chan answer, 1)
		go func() {
			ds, err := l.AllowEach(ctx, budgets)
			out[i] <- answer{ds, err}
		}()
		require.Eventually(t, func() bool { return redis.Queued(l) == queued+i+1 }, 5*time.Second, time.Millisecond)
	}
	return out
}

// TestQueuedCallsShareARun: the calls that arrive while a run is under
// way go in the next run together, each decided as it would be alone in
// its turn: stopped at its first refusing budget, those after it not
// charged.
func TestQueuedCallsShareARun(t *testing.T) {
	ctx := context.Background()
	tight := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 2} // two at once, then one an hour
	tightB, looseB := ports.RateBudget{Key: "tight", Limit: tight}, ports.RateBudget{Key: "loose", Limit: loose}
	l, runs, first, release := heldRun(t, scriptHook{}, tightB)

	answers := queue(t, ctx, l,
		[]ports.RateBudget{tightB, looseB}, // tight's second: both charged
		[]ports.RateBudget{tightB, looseB}, // refused at tight: loose not charged
		[]ports.RateBudget{looseB, tightB}, // loose charged, then refused at tight
	)
	release()

	// Each decision as its remaining budget, -1 for a refusal.
	remaining := func(ch chan answer) []int {
		a := <-ch
		require.NoError(t, a.err)
		out := make([]int, len(a.ds))
		for i, d := range a.ds {
			out[i] = d.Remaining
			if !d.Allowed {
				out[i] = -1
				require.InDelta(t, time.Hour, d.RetryAfter, float64(5*time.Second), "tight's next request, an hour on")
				require.InDelta(t, 2*time.Hour, d.ResetAfter, float64(5*time.Second), "tight full again")
			}
		}
		return out
	}
	require.Equal(t, []int{1}, remaining(first))
	require.Equal(t, []int{0, 99}, remaining(answers[0]))
	require.Equal(t, []int{-1}, remaining(answers[1]), "the budget after a refusal is not charged")
	require.Equal(t, []int{98, -1}, remaining(answers[2]))

	require.EqualValues(t, 2, runs.Load(), "the three queued calls went in one run")
	// What the run wrote is what redis_rate reads: loose was charged twice.
	d, err := l.Allow(ctx, "loose", loose)
	require.NoError(t, err)
	require.Equal(t, 97, d.Remaining)
	d, err = l.Allow(ctx, "tight", tight)
	require.NoError(t, err)
	require.False(t, d.Allowed)
}

// TestARunDecidesAsAllowInTurn: the calls of a run are decided as Allow
// would decide their budgets one at a time, a key charged under two
// limits in one run included (the run caches each key's time, not each
// budget's).
func TestARunDecidesAsAllowInTurn(t *testing.T) {
	ctx := context.Background()
	tight := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 2}
	tighter := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 1}
	a, b, a2 := ports.RateBudget{Key: "a", Limit: tight}, ports.RateBudget{Key: "b", Limit: loose}, ports.RateBudget{Key: "a", Limit: tighter}
	l, runs, first, release := heldRun(t, scriptHook{}, b)
	calls := [][]ports.RateBudget{{a, b}, {a2, b}, {b, a}, {b, a}}
	answers := queue(t, ctx, l, calls...)
	release()
	require.NoError(t, (<-first).err)

	// The same calls, one Allow at a time, on budgets of their own.
	rdb, prefix := newClient(t)
	alone := redis.NewRateLimiter(rdb, prefix)
	_, err := alone.Allow(ctx, b.Key, b.Limit)
	require.NoError(t, err)
	for i, call := range calls {
		got := <-answers[i]
		require.NoError(t, got.err)
		var want []ports.RateDecision
		for _, budget := range call {
			d, err := alone.Allow(ctx, budget.Key, budget.Limit)
			require.NoError(t, err)
			want = append(want, d)
			if !d.Allowed {
				break
			}
		}
		require.Len(t, got.ds, len(want), "call %d", i)
		for j := range want {
			assert.Equal(t, want[j].Allowed, got.ds[j].Allowed, "call %d, budget %d", i, j)
			assert.Equal(t, want[j].Remaining, got.ds[j].Remaining, "call %d, budget %d", i, j)
		}
	}

	require.EqualValues(t, 2, runs.Load(), "the held run, then the four queued calls in one")
}

// TestAFailedRunFailsEachOfItsCalls: every call in a run that Redis did
// not answer gets the store's unavailability, and the limiter goes on.
func TestAFailedRunFailsEachOfItsCalls(t *testing.T) {
	l, _, first, release := heldRun(t, scriptHook{fail: 2}, ports.RateBudget{Key: "a", Limit: loose})
	ctx := context.Background()
	answers := queue(t, ctx, l, []ports.RateBudget{{Key: "b", Limit: loose}}, []ports.RateBudget{{Key: "c", Limit: loose}})
	release()

	a := <-first
	require.NoError(t, a.err)
	require.Len(t, a.ds, 1)
	for _, ch := range answers {
		a := <-ch
		require.True(t, fault.Of(a.err, fault.Unavailable), "%v", a.err)
		require.Nil(t, a.ds)
	}
	ds, err := l.AllowEach(ctx, []ports.RateBudget{{Key: "b", Limit: loose}})
	require.NoError(t, err)
	require.Equal(t, 99, ds[0].Remaining, "the failed run charged nothing")
}

// TestAQueuedCallWhoseContextEndsReturns: a caller gone while its call
// waits for a run is answered at once; the others are not held up.
func TestAQueuedCallWhoseContextEndsReturns(t *testing.T) {
	l, _, first, release := heldRun(t, scriptHook{}, ports.RateBudget{Key: "a", Limit: loose})
	ctx, cancel := context.WithCancel(context.Background())
	gone := queue(t, ctx, l, []ports.RateBudget{{Key: "b", Limit: loose}})[0]
	stays := queue(t, context.Background(), l, []ports.RateBudget{{Key: "c", Limit: loose}})[0]
	cancel()
	a := <-gone
	require.ErrorIs(t, a.err, context.Canceled)
	require.True(t, fault.Of(a.err, fault.Unavailable))
	release()
	require.NoError(t, (<-first).err)
	a = <-stays
	require.NoError(t, a.err)
	require.True(t, a.ds[0].Allowed)
}

// TestACallersSliceIsItsOwnOnceItLeaves: a caller gone while its call
// waits may reuse its budgets' slice at once; the run charges what it was
// given.
func TestACallersSliceIsItsOwnOnceItLeaves(t *testing.T) {
	l, _, first, release := heldRun(t, scriptHook{}, ports.RateBudget{Key: "a", Limit: loose})
	ctx, cancel := context.WithCancel(context.Background())
	budgets := []ports.RateBudget{{Key: "given", Limit: loose}}
	gone := queue(t, ctx, l, budgets)[0]
	cancel()
	require.ErrorIs(t, (<-gone).err, context.Canceled)
	budgets[0].Key = "reused"
	stays := queue(t, context.Background(), l, []ports.RateBudget{{Key: "c", Limit: loose}})[0]
	release()
	require.NoError(t, (<-first).err)
	require.NoError(t, (<-stays).err)
	for key, remaining := range map[string]int{"given": 98, "reused": 99} {
		d, err := l.Allow(context.Background(), key, loose)
		require.NoError(t, err)
		require.Equal(t, remaining, d.Remaining, key)
	}
}

// TestConcurrentCallsSpendABudgetExactly: calls from many goroutines,
// however they fall into runs, allow exactly a budget's burst, and charge
// the budgets before a refusal only.
func TestConcurrentCallsSpendABudgetExactly(t *testing.T) {
	rdb, prefix := newClient(t)
	l := redis.NewRateLimiter(rdb, prefix)
	shared := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 50}
	own := ports.RateLimit{Rate: 1000, Period: time.Hour, Burst: 1000}
	const goroutines, calls = 32, 8
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			budgets := []ports.RateBudget{{Key: "own:" + strconv.Itoa(g), Limit: own}, {Key: "shared", Limit: shared}}
			for range calls {
				ds, err := l.AllowEach(context.Background(), budgets)
				if !(assert.NoError(t, err) && assert.Len(t, ds, 2) && assert.True(t, ds[0].Allowed, "own budget")) {
					return
				}
				if ds[1].Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 50, allowed.Load())
	for g := range goroutines {
		d, err := l.Allow(context.Background(), "own:"+strconv.Itoa(g), own)
		require.NoError(t, err)
		require.Equal(t, 1000-calls-1, d.Remaining, "goroutine %d's own budget", g)
	}
}

// TestABudgetFinerThanTheClockIsAllowed: at a billion a second the
// interval is below what a time since 2017 in seconds resolves, so a
// charge leaves the time where it was; the budget is still allowed,
// never a script error (the gateway would admit without a limit).
func TestABudgetFinerThanTheClockIsAllowed(t *testing.T) {
	rdb, prefix := newClient(t)
	l := redis.NewRateLimiter(rdb, prefix)
	huge := ports.RateLimit{Rate: 1_000_000_000, Period: time.Second, Burst: 1_000_000_000}
	for range 3 {
		ds, err := l.AllowEach(context.Background(), []ports.RateBudget{{Key: "fine", Limit: huge}, {Key: "fine2", Limit: huge}})
		require.NoError(t, err)
		require.Len(t, ds, 2)
		require.True(t, ds[0].Allowed)
		require.True(t, ds[1].Allowed)
		require.Greater(t, ds[0].Remaining, 900_000_000)
	}
}

// TestServerCountersCountTheScriptRuns: each AllowEach call made alone is
// one EVALSHA in the server's counters (other packages' tests may share
// the server, so at least).
func TestServerCountersCountTheScriptRuns(t *testing.T) {
	rdb, prefix := newClient(t)
	l := redis.NewRateLimiter(rdb, prefix)
	ctx := context.Background()
	budgets := []ports.RateBudget{{Key: "counted", Limit: ports.RateLimit{Rate: 100, Period: time.Second, Burst: 100}}}
	_, err := l.AllowEach(ctx, budgets) // the script is loaded: each run after it one EVALSHA
	require.NoError(t, err)
	before, err := redis.ReadServerCounters(ctx, rdb)
	require.NoError(t, err)
	for range 5 {
		_, err := l.AllowEach(ctx, budgets)
		require.NoError(t, err)
	}
	after, err := redis.ReadServerCounters(ctx, rdb)
	require.NoError(t, err)
	spent := after.Sub(before)
	require.GreaterOrEqual(t, spent.ScriptRuns, int64(5))
	require.Positive(t, spent.ScriptTime)
	require.Positive(t, after.CPU, "the server's CPU since it started")

	require.NoError(t, rdb.Close())
	_, err = redis.ReadServerCounters(ctx, rdb)
	require.True(t, fault.Of(err, fault.Unavailable), "%v", err)
}

// TestARunCarriesAtMostMaxBudgets: queued calls go in runs of at most
// 128 budgets, oldest first; a call of more goes alone.
func TestARunCarriesAtMostMaxBudgets(t *testing.T) {
	l, runs, first, release := heldRun(t, scriptHook{}, ports.RateBudget{Key: "a", Limit: loose})
	call := func(name string, n int) []ports.RateBudget {
		out := make([]ports.RateBudget, n)
		for i := range out {
			out[i] = ports.RateBudget{Key: name + ":" + strconv.Itoa(i), Limit: loose}
		}
		return out
	}
	// 60 + 60 in one run; 60 more would be 180.
	answers := queue(t, context.Background(), l, call("x", 60), call("y", 60), call("z", 60), call("big", 200))
	release()
	require.NoError(t, (<-first).err)
	for i, want := range []int{60, 60, 60, 200} {
		a := <-answers[i]
		require.NoError(t, a.err)
		require.Len(t, a.ds, want)
		for _, d := range a.ds {
			require.True(t, d.Allowed)
			require.Equal(t, 99, d.Remaining)
		}
	}
	require.EqualValues(t, 4, runs.Load(), "the held run, x and y, z, big")
}

// TestARunRedisDoesNotAnswerEndsAtItsBound: a run of queued calls that
// Redis leaves unanswered fails each of them once the run's bound has
// passed, though no caller's context ends, and the limiter goes on.
func TestARunRedisDoesNotAnswerEndsAtItsBound(t *testing.T) {
	l, _, first, release := heldRun(t, scriptHook{stall: 2}, ports.RateBudget{Key: "a", Limit: loose})
	redis.SetRunTimeout(l, 50*time.Millisecond)
	stalled := queue(t, context.Background(), l, []ports.RateBudget{{Key: "b", Limit: loose}})[0]
	release()
	require.NoError(t, (<-first).err)
	a := <-stalled
	require.ErrorIs(t, a.err, context.DeadlineExceeded)
	require.True(t, fault.Of(a.err, fault.Unavailable))
	ds, err := l.AllowEach(context.Background(), []ports.RateBudget{{Key: "b", Limit: loose}})
	require.NoError(t, err)
	require.True(t, ds[0].Allowed)
}
