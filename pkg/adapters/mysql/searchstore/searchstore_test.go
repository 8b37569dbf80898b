package searchstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/searchstore"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/app/porttest"
	"github.com/lattice-platform/lattice/services/search/domain"
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

// BenchmarkReread compares the two ways search re-reads the resources a
// group of events touched: one Indexed call, or Document and Chunks for
// each (as before Indexed). 100 resources, the group size search
// subscribes with, each with the one chunk a created resource has.
func BenchmarkReread(b *testing.B) {
	ctx := context.Background()
	dsn := testinfra.MySQL(b)
	require.NoError(b, mysql.Migrate(dsn, schema.Search, "search/migrations"))
	db, err := mysql.Open(ctx, dsn)
	require.NoError(b, err)
	b.Cleanup(func() { _ = db.Close() })
	s := searchstore.NewSearchStore(db)
	ids := make([]string, 100)
	require.NoError(b, s.Together(ctx, func(tx app.SearchStore) error {
		for i := range ids {
			ids[i] = uuid.Must(uuid.NewV7()).String()
			d := domain.Document{ResourceID: ids[i], OwnerID: "owner-1", Title: "A title", Visibility: domain.Public,
				Tags: []string{"a"}, Metadata: map[string]string{"k": "v"}, Version: 1, UpdatedAt: time.Now().UTC()}
			if _, err := tx.PutDocument(ctx, d); err != nil {
				return err
			}
			set := domain.ChunkSet{ResourceID: ids[i], Version: 1, Model: "hash-384", Dimensions: 384,
				Chunks: []domain.Chunk{{ID: ids[i] + "-0", Text: "A title. A body of a few words.", Vector: make([]float32, 384)}}}
			if _, err := tx.ReplaceChunks(ctx, set); err != nil {
				return err
			}
		}
		return nil
	}))
	want := make([]domain.Refresh, len(ids))
	for i, id := range ids {
		want[i] = domain.Refresh{ResourceID: id}
	}
	b.Run("indexed", func(b *testing.B) {
		for b.Loop() {
			got, err := s.Indexed(ctx, want)
			require.NoError(b, err)
			require.Len(b, got[99].Chunks, 1)
		}
	})
	b.Run("one-at-a-time", func(b *testing.B) {
		for b.Loop() {
			for _, id := range ids {
				_, err := s.Document(ctx, id)
				require.NoError(b, err)
				got, err := s.Chunks(ctx, id)
				require.NoError(b, err)
				require.Len(b, got, 1)
			}
		}
	})
}
