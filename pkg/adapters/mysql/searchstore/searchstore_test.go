package searchstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/searchstore"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/app/porttest"
	schema "github.com/lattice-platform/lattice/sql"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func TestSearchStore(t *testing.T) {
	porttest.SearchStore(t, func(t *testing.T) app.SearchStore {
		dsn := testinfra.MySQL(t)
		require.NoError(t, mysql.Migrate(dsn, schema.Search, "search/migrations"))
		db, err := mysql.Open(context.Background(), dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return searchstore.NewSearchStore(db)
	})
}
