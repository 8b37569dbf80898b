package vecindex

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAddColumnsAddsEachColumnTimesItsValue checks addColumns against a
// sum in float64, for spans that do and do not end on a multiple of eight
// rows and for column counts on both sides of the fused kernel's four, so
// that its whole steps, the rows short of eight and the columns left over
// are each checked (on a CPU without AVX2 and FMA, the vek path alone).
func TestAddColumnsAddsEachColumnTimesItsValue(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	const dims = 16
	cols := make([]float32, dims*blockRows)
	for i := range cols {
		cols[i] = float32(rng.NormFloat64())
	}
	vector := make([]float32, dims)
	for j := range vector {
		vector[j] = float32(rng.NormFloat64())
	}
	for _, span := range [][2]int{{0, blockRows}, {0, 7}, {3, 8}, {5, 1000}, {1, 2047}, {2040, 2048}} {
		for columns := 0; columns <= 9; columns++ {
			nz := rng.Perm(dims)[:columns]
			from, n := span[0], span[1]-span[0]
			sc, tmp := make([]float32, n), make([]float32, n)
			for i := range sc {
				sc[i] = float32(i) // added to, not overwritten
			}
			addColumns(sc, tmp, cols, nz, vector, from)
			for i := range n {
				want := float64(i)
				for _, j := range nz {
					want += float64(vector[j]) * float64(cols[j*blockRows+from+i])
				}
				require.InDelta(t, want, sc[i], 1e-3, "rows %v, %d columns, row %d", span, columns, i)
			}
		}
	}
}
