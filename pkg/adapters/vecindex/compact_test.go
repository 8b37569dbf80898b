package vecindex

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/search/domain"
)

// A model's vectors never move as it grows: each block, once made, keeps
// its rows, row-major and column-major, however many blocks follow. Every
// row, across block boundaries, reads back as it went in, and still does
// once the rows are compacted. The columns are written a tile of
// columnTile at a time; 37 values are two whole tiles and part of one.
func TestRowsStayWhereTheyWereWritten(t *testing.T) {
	t.Parallel()
	const dims, perResource = 2*columnTile + 5, 300
	x := NewFlat()
	vector := func(res, c int) []float32 {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(res*100_000 + c*100 + j)
		}
		return v
	}
	add := func(res int) {
		chunks := make([]domain.Chunk, perResource)
		for c := range chunks {
			chunks[c] = domain.Chunk{ID: fmt.Sprintf("r%d-%d", res, c), Model: "m", Vector: vector(res, c)}
		}
		x.Replace(domain.Indexed{Document: domain.Document{ResourceID: fmt.Sprint("r", res)}, Chunks: chunks})
	}
	add(0)
	m := x.models["m"]
	row0, col0 := &m.blocks[0][0], &m.colBlocks[0][0]
	resources := 3*blockRows/perResource + 1 // past three block boundaries
	for res := 1; res < resources; res++ {
		add(res)
		require.Same(t, row0, &m.blocks[0][0], "the first block's rows moved at resource %d", res)
		require.Same(t, col0, &m.colBlocks[0][0], "the first block's columns moved at resource %d", res)
	}
	require.Len(t, m.blocks, resources*perResource/blockRows+1)
	readBack := func(from int) {
		t.Helper()
		for res := from; res < resources; res++ {
			for c := range perResource {
				row, ok := m.pos[fmt.Sprintf("r%d-%d", res, c)]
				require.True(t, ok)
				require.Equal(t, vector(res, c), m.vec(row))
				b, at := int(row)/blockRows, int(row)%blockRows
				for j := range dims {
					require.Equal(t, vector(res, c)[j], m.colBlocks[b][j*blockRows+at], "row %d, column %d", row, j)
				}
			}
		}
	}
	readBack(0)

	// Removing more than half the rows compacts them into new blocks.
	removed := resources/2 + 1
	for res := range removed {
		x.Replace(domain.Indexed{Document: domain.Document{ResourceID: fmt.Sprint("r", res)}})
	}
	require.NotSame(t, row0, &m.blocks[0][0], "the rows were not compacted")
	require.Zero(t, m.dead)
	require.Len(t, m.ids, (resources-removed)*perResource)
	readBack(removed)
}
