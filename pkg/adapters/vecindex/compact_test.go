package vecindex

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/search/domain"
)

// After a compaction, replacing every resource's chunks once more (the
// rows grow to twice the live ones before the next compaction) moves no
// vector: the arrays were made with that room.
func TestCompactionLeavesRoomForTheNextRound(t *testing.T) {
	t.Parallel()
	const resources, perResource, dims = 20, 100, 8
	x := NewFlat()
	replace := func(res, round int) {
		chunks := make([]domain.Chunk, perResource)
		for c := range chunks {
			v := make([]float32, dims)
			v[c%dims] = float32(round + 1)
			chunks[c] = domain.Chunk{ID: fmt.Sprintf("r%d-%d-%d", res, round, c), Model: "m", Vector: v}
		}
		x.Replace(domain.Indexed{Document: domain.Document{ResourceID: fmt.Sprint("r", res)}, Chunks: chunks})
	}
	next := 0
	replaceNext := func() {
		replace(next%resources, next/resources)
		next++
	}
	for range resources {
		replaceNext()
	}
	m := x.models["m"]
	for generation := m.generation; m.generation == generation; {
		replaceNext()
	}
	// Just compacted: every replacement until the next compaction finds
	// room where the rows and columns are.
	require.Equal(t, resources*perResource, m.live())
	data, col, generation := &m.data[:1][0], &m.cols[0][:1][0], m.generation
	var between int
	for {
		replaceNext()
		if m.generation != generation {
			break
		}
		between++
		require.Same(t, data, &m.data[:1][0], "the rows were moved after %d replacements", between)
		require.Same(t, col, &m.cols[0][:1][0], "the columns were moved after %d replacements", between)
	}
	require.GreaterOrEqual(t, between, resources-1, "about a round of replacements between compactions")
}
