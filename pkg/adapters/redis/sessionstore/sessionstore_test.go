package sessionstore_test

import (
	"testing"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/redis/sessionstore"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/app/porttest"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func TestSessionStore(t *testing.T) {
	porttest.SessionStore(t, func(t *testing.T) (app.SessionStore, string, string) {
		srv := testinfra.RedisServer(t)
		opts, err := goredis.ParseURL(srv.URL)
		require.NoError(t, err)
		rdb := goredis.NewClient(opts)
		t.Cleanup(func() { _ = rdb.Close() })
		return sessionstore.New(rdb, srv.Prefix), uuid.NewString(), uuid.NewString()
	})
}
