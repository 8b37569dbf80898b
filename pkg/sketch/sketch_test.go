package sketch_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/sketch"
)

func TestMergedSketchesMatchTheRawQuantiles(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var raw []float64
	merged := sketch.New()
	for range 60 { // sixty per-minute sketches, encoded and decoded as stored
		minute := sketch.New()
		for range 500 {
			v := rng.ExpFloat64() * 20
			raw = append(raw, v)
			minute.Add(v)
		}
		back, err := sketch.Decode(minute.Encode())
		require.NoError(t, err)
		require.NoError(t, merged.Merge(back))
	}
	slices.Sort(raw)
	require.EqualValues(t, len(raw), merged.Count())
	for _, q := range []float64{0.5, 0.95, 0.99} {
		exact := raw[int(q*float64(len(raw)-1))]
		require.InEpsilon(t, exact, merged.Quantile(q), 0.02, "q%.2f", q)
	}
	empty, err := sketch.Decode(nil)
	require.NoError(t, err)
	require.Zero(t, empty.Quantile(0.5))
	_, err = sketch.Decode([]byte{0xff, 0x00})
	require.Error(t, err)
}
