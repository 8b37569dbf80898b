package redis_test

import (
	"context"
	"net"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/redis"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// TestCommandsFailFastWhileRedisIsAway: the options bound one command to
// one retry of one dial of a second each, unless the URL says otherwise,
// and a command to a server that is gone fails rather than waits.
func TestCommandsFailFastWhileRedisIsAway(t *testing.T) {
	addr := testinfra.ClosedAddr(t)

	opts, err := redis.Options("redis://"+addr+"/0", "")
	require.NoError(t, err)
	require.Equal(t, time.Second, opts.DialTimeout)
	require.Equal(t, 1, opts.MaxRetries)
	require.Equal(t, 1, opts.DialerRetries)
	own, err := redis.Options("redis://"+addr+"/0?dial_timeout=3s&max_retries=4", "")
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, own.DialTimeout, "the URL's own value is kept")
	require.Equal(t, 4, own.MaxRetries)

	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.Error(t, rdb.Ping(ctx).Err())
	require.NoError(t, ctx.Err(), "it failed on its own bounds, not the test's deadline")
}

// TestDeadlinesHoldThoughSetLazily: the client's connections set their
// deadlines lazily (lazydeadline). A command on a connection that sat idle
// past its last deadline still succeeds, and once the server stops
// answering, a command fails at its read timeout: neither sooner nor
// never.
func TestDeadlinesHoldThoughSetLazily(t *testing.T) {
	srv := testinfra.RedisServer(t)
	opts, err := redis.Options(srv.URL, "")
	require.NoError(t, err)
	relay := testinfra.Stall(t, opts.Addr)
	opts.Addr, opts.PoolSize, opts.MaxRetries = relay.Addr, 1, -1
	const timeout = 200 * time.Millisecond
	opts.ReadTimeout, opts.WriteTimeout = timeout, timeout
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()

	require.NoError(t, rdb.Ping(ctx).Err())
	// The deadline the last command armed passes while the connection
	// is idle: the next command finds it passed and goes on.
	time.Sleep(2 * timeout)
	require.NoError(t, rdb.Ping(ctx).Err())

	relay.Stall()
	start := time.Now()
	err = rdb.Ping(ctx).Err()
	took := time.Since(start)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "%v", err)
	require.GreaterOrEqual(t, took, timeout, "not before the read timeout")
	require.Less(t, took, 10*timeout, "not long after it")
}
