package vecindex

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/search/domain"
)

// A model's vectors never move as it grows: each block, once made, keeps
// its rows, row-major and column-major, however many blocks follow. Every
// row, across block boundaries, reads back as it went in.
func TestRowsStayWhereTheyWereWritten(t *testing.T) {
	t.Parallel()
	const dims, perResource = 4, 300
	x := NewFlat()
	vector := func(res, c int) []float32 { return []float32{float32(res), float32(c), float32(res * c), 1} }
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
	for res := range resources {
		for c := range perResource {
			row := m.pos[fmt.Sprintf("r%d-%d", res, c)]
			require.Equal(t, vector(res, c), m.vec(row))
			b, at := int(row)/blockRows, int(row)%blockRows
			for j := range dims {
				require.Equal(t, vector(res, c)[j], m.colBlocks[b][j*blockRows+at], "row %d, column %d", row, j)
			}
		}
	}
}
