package testinfra

import (
	"context"
	"testing"

	"github.com/testcontainers/testcontainers-go"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
)

var redisContainer lazyContainer

// Redis is a Redis server for one test. Tests share the server, so each gets
// its own key prefix and must keep every key under it.
type Redis struct {
	URL    string // redis://host:port/0
	Prefix string // unique to the test, ends with ':'
}

// RedisServer returns a Redis URL and a key prefix unique to t.
func RedisServer(t testing.TB) Redis {
	t.Helper()
	url, src := pick("TEST_REDIS_URL")
	switch src {
	case fromContainer:
		url = redisContainer.get(t, startRedis, "LATTICE_TC_REDIS_IMAGE")
	case fromNowhere:
		unavailable(t, "Redis", "TEST_REDIS_URL")
	}
	return Redis{URL: url, Prefix: uniqueName(t) + ":"}
}

func startRedis(ctx context.Context, image string) (string, error) {
	ctr, err := tcredis.Run(ctx, image)
	if ctr != nil {
		registerStop(func(ctx context.Context) error { return testcontainers.TerminateContainer(ctr) })
	}
	if err != nil {
		return "", err
	}
	return ctr.ConnectionString(ctx)
}
