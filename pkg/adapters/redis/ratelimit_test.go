package redis_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/redis"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

// newClient is a client of a real Redis, closed with the test, and the
// prefix that keeps the test's keys apart.
func newClient(t *testing.T) (*goredis.Client, string) {
	srv := testinfra.RedisServer(t)
	opts, err := goredis.ParseURL(srv.URL)
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
// own CPU per decision (cpu-ns/op), which Redis's share does not blur.
func BenchmarkAllowEach(b *testing.B) {
	srv := testinfra.RedisServer(b)
	opts, err := goredis.ParseURL(srv.URL)
	require.NoError(b, err)
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	ap, err := rdb.AutoPipeline()
	require.NoError(b, err)
	loose := ports.RateLimit{Rate: 1 << 30, Period: time.Hour, Burst: 1 << 30}
	for _, c := range []struct {
		name string
		rdb  goredis.Cmdable
	}{{"client", rdb}, {"auto-pipelined", ap}} {
		b.Run(c.name, func(b *testing.B) {
			l := redis.NewRateLimiter(c.rdb, srv.Prefix)
			var n atomic.Int64
			b.SetParallelism(8) // 8 goroutines a core: 16 on two
			b.ReportAllocs()
			before, redisBefore := testinfra.CPUTime(b), scriptTime(b, rdb)
			b.RunParallel(func(pb *testing.PB) {
				budgets := []ports.RateBudget{{Key: "ip:" + strconv.FormatInt(n.Add(1), 10), Limit: loose}, {Key: "user", Limit: loose}}
				for pb.Next() {
					if _, err := l.AllowEach(context.Background(), budgets); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(testinfra.CPUTime(b)-before)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(scriptTime(b, rdb)-redisBefore)/float64(b.N), "redis-ns/op")
		})
	}
}

// scriptTime is the time Redis has spent running scripts by their
// digest (INFO commandstats), the serial resource every gateway replica
// shares when its limits live in Redis.
func scriptTime(tb testing.TB, rdb *goredis.Client) time.Duration {
	info := rdb.InfoMap(context.Background(), "commandstats")
	require.NoError(tb, info.Err())
	// "calls=…,usec=…,usec_per_call=…"; empty before any script has run.
	for field := range strings.SplitSeq(info.Item("Commandstats", "cmdstat_evalsha"), ",") {
		if v, ok := strings.CutPrefix(field, "usec="); ok {
			usec, err := strconv.ParseInt(v, 10, 64)
			require.NoError(tb, err)
			return time.Duration(usec) * time.Microsecond
		}
	}
	return 0
}
