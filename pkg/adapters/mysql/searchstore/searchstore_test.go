package searchstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql/searchstore"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/app/porttest"
	"github.com/lattice-platform/lattice/services/search/domain"
	schema "github.com/lattice-platform/lattice/sql"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func TestSearchStore(t *testing.T) {
	porttest.SearchStore(t, func(t *testing.T) app.SearchStore { return searchstore.NewSearchStore(openMigrated(t)) })
}

// openMigrated opens a new database with search's schema.
func openMigrated(tb testing.TB) *sql.DB {
	return testinfra.MySQLMigrated(tb, schema.Search, "search/migrations")
}

// BenchmarkReread compares the two ways search re-reads the resources a
// group of events touched: one Indexed call, or Document and Chunks for
// each (as before Indexed). 100 resources, the group size search
// subscribes with, each with the one chunk a created resource has.
func BenchmarkReread(b *testing.B) {
	ctx := context.Background()
	s := searchstore.NewSearchStore(openMigrated(b))
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

// BenchmarkApplyCreated applies what a created resource's event brings
// search, as its indexer does in a group: the document and its chunk set,
// in one Together. It reports the statements the server received a
// create (its global Questions count: run it alone).
func BenchmarkApplyCreated(b *testing.B) {
	ctx := context.Background()
	db := openMigrated(b)
	s := searchstore.NewSearchStore(db)
	questions := func() (n int64) {
		var name string
		require.NoError(b, db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Questions'").Scan(&name, &n))
		return n
	}
	before := questions()
	for b.Loop() {
		id := uuid.Must(uuid.NewV7()).String()
		d := domain.Document{ResourceID: id, OwnerID: "owner-1", Title: "A title", Visibility: domain.Public,
			Tags: []string{"a"}, Metadata: map[string]string{"k": "v"}, Version: 1, UpdatedAt: time.Now().UTC()}
		set := domain.ChunkSet{ResourceID: id, Version: 1, Model: "hash-384", Dimensions: 384,
			Chunks: []domain.Chunk{{ID: id + "-0", Text: "A title. A body of a few words.", Vector: make([]float32, 384)}}}
		require.NoError(b, s.Together(ctx, func(tx app.SearchStore) error {
			if _, err := tx.PutDocument(ctx, d); err != nil {
				return err
			}
			_, err := tx.ReplaceChunks(ctx, set)
			return err
		}))
	}
	// Less the one statement of the last reading itself.
	b.ReportMetric(float64(questions()-before-1)/float64(b.N), "statements/op")
}

// BenchmarkReplaceUploadSet stores what an upload brings search: a file's
// chunk set with 1,024-dimension vectors, on a document of its own, for
// sets of 340 chunks (a 100 KiB Markdown file, as the journeys upload)
// and smaller ones. It reports the client's CPU a set, and the server's
// when MARIADB_PID names the local server's process (run it alone).
func BenchmarkReplaceUploadSet(b *testing.B) {
	ctx := context.Background()
	s := searchstore.NewSearchStore(openMigrated(b))
	rng := rand.New(rand.NewPCG(1, 2))
	chunks := make([]domain.Chunk, 340)
	for i := range chunks {
		vec := make([]float32, 1024)
		for j := range vec {
			vec[j] = rng.Float32()*0.1 - 0.05
		}
		chunks[i] = domain.Chunk{ID: fmt.Sprintf("f1-%03d", i), Index: i, Vector: vec,
			Text: strings.Repeat("Two hundred and ninety bytes of a Markdown paragraph, ", 6)[:290]}
	}
	for _, n := range []int{1, 4, 16, 340} {
		b.Run(fmt.Sprintf("chunks=%d", n), func(b *testing.B) {
			report := testinfra.CPUReport(b)
			for b.Loop() {
				id := uuid.Must(uuid.NewV7()).String()
				set := domain.ChunkSet{ResourceID: id, FileID: "f1", Version: 1, Model: "lattice-hash-v1-1024", Dimensions: 1024, Chunks: chunks[:n]}
				require.NoError(b, s.Together(ctx, func(tx app.SearchStore) error {
					if _, err := tx.PutDocument(ctx, domain.Document{ResourceID: id, OwnerID: "owner-1", Title: "A file",
						Visibility: domain.Private, Version: 1, UpdatedAt: time.Now().UTC()}); err != nil {
						return err
					}
					_, err := tx.ReplaceChunks(ctx, set)
					return err
				}))
			}
			report()
		})
	}
}
