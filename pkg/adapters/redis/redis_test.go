package redis_test

import (
	"context"
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
