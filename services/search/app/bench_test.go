package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/app/fake"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// BenchmarkAnotherFile measures what search spends on a chunk set of 340
// chunks (a 100 KiB upload's) for a resource that already has files of
// the same size: re-reading and re-indexing after the change. The set is
// delivered again each time, which the store ignores and the indexes
// still take in, as they do after any event.
//
//	go test -run '^$' -bench AnotherFile -benchtime 20x ./services/search/app/
func BenchmarkAnotherFile(b *testing.B) {
	for _, files := range []int{0, 10, 30} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			ctx := context.Background()
			s := serviceOver(fake.NewSearchStore(), mustText(b))
			require.NoError(b, put("r1", "alice", domain.Public, 1).on(ctx, s))
			for f := range files {
				require.NoError(b, fileOf("r1", f).on(ctx, s))
			}
			next := fileOf("r1", files)
			for b.Loop() {
				require.NoError(b, next.on(ctx, s))
			}
		})
	}
}

// fileOf is file n's chunk set: 340 chunks of about 300 bytes, embedded
// once, whatever the number of times it is delivered.
func fileOf(resourceID string, n int) event {
	texts := make([]string, 340)
	for i := range texts {
		texts[i] = fmt.Sprintf("file %d chunk %d: the kestrel hovers over the verge, word%d and word%d, before it drops on a vole in the long grass by the hedge; the merlin dashes low across the moor, and the hobby takes dragonflies over the lake at dusk in summer, word%d.", n, i, n*1000+i, i%97, i%13)
	}
	vecs, err := hashembed.Embedder{}.Embed(context.Background(), texts)
	if err != nil {
		panic(err)
	}
	set := domain.ChunkSet{ResourceID: resourceID, FileID: fmt.Sprintf("00000000-0000-7000-8000-%012d", n), Version: 1,
		Model: hashembed.Model, Dimensions: hashembed.Dimensions}
	for i, tx := range texts {
		set.Chunks = append(set.Chunks, domain.Chunk{ID: fmt.Sprintf("%s-%d-%d", resourceID, n, i), Index: i, Text: tx, Vector: vecs[i]})
	}
	c := app.ChunksReady(fmt.Sprintf("e-file-%d", n), set)
	return func() app.Change { return c }
}
