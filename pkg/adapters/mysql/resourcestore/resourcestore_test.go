package resourcestore_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/resourcestore"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/resource/app/porttest"
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
	porttest.ResourceStore(t, func(t *testing.T) porttest.ResourceFixture {
		db := setup(t)
		return porttest.ResourceFixture{Resources: resourcestore.NewResourceRepository(db), Idem: resourcestore.NewIdempotencyStore(db), Outbox: resourcestore.NewOutboxStore(db)}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	dsn := testinfra.MySQL(t)
	require.NoError(t, mysql.Migrate(dsn, schema.Resource, "resource/migrations"))
	require.NoError(t, mysql.Migrate(dsn, schema.Resource, "resource/migrations"))
}

func TestFileStore(t *testing.T) {
	porttest.FileStore(t, func(t *testing.T) porttest.FileFixture {
		db := setup(t)
		r := resourcestore.NewResourceRepository(db)
		return porttest.FileFixture{Resources: r, Files: r, Purger: r, Outbox: resourcestore.NewOutboxStore(db)}
	})
}
