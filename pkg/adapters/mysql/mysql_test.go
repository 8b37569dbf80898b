package mysql_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	schema "github.com/lattice-platform/lattice/sql"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func setup(t *testing.T) *sql.DB {
	t.Helper()
	dsn := testinfra.MySQL(t)
	require.NoError(t, mysql.Migrate(dsn, schema.Resource, "resource/migrations"))
	db, err := mysql.Open(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestResourceStore(t *testing.T) {
	portstest.ResourceStore(t, func(t *testing.T) portstest.ResourceFixture {
		db := setup(t)
		return portstest.ResourceFixture{Resources: mysql.NewResourceRepository(db), Idem: mysql.NewIdempotencyStore(db), Outbox: mysql.NewOutboxStore(db)}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	dsn := testinfra.MySQL(t)
	require.NoError(t, mysql.Migrate(dsn, schema.Resource, "resource/migrations"))
	require.NoError(t, mysql.Migrate(dsn, schema.Resource, "resource/migrations"))
}

func TestFileStore(t *testing.T) {
	portstest.FileStore(t, func(t *testing.T) portstest.FileFixture {
		db := setup(t)
		r := mysql.NewResourceRepository(db)
		return portstest.FileFixture{Resources: r, Files: r, Purger: r, Outbox: mysql.NewOutboxStore(db)}
	})
}

func TestSearchStore(t *testing.T) {
	portstest.SearchStore(t, func(t *testing.T) ports.SearchStore {
		dsn := testinfra.MySQL(t)
		require.NoError(t, mysql.Migrate(dsn, schema.Search, "search/migrations"))
		db, err := mysql.Open(context.Background(), dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return mysql.NewSearchStore(db)
	})
}
