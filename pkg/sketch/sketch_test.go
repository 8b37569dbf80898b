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

func TestFromBinsRebuildsTheSameSketch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	direct := sketch.New()
	counts := map[int32]uint64{}
	for i := range 5000 {
		v := rng.ExpFloat64() * 40
		if i%50 == 0 {
			v = 0 // zeros, and negatives recorded as zero
		}
		if i%77 == 0 {
			v = -3
		}
		direct.Add(v)
		counts[sketch.Bin(v)]++
	}
	var bins []int32
	var ns []uint64
	for b, n := range counts {
		bins = append(bins, b)
		ns = append(ns, n)
	}
	rebuilt := sketch.FromBins(bins, ns)
	require.Equal(t, direct.Count(), rebuilt.Count())
	for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.95, 0.99, 1} {
		require.Equal(t, direct.Quantile(q), rebuilt.Quantile(q), "q=%v", q)
	}
}

func TestMergeEncodedEqualsMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	a, b := sketch.New(), sketch.New()
	for range 1000 {
		a.Add(rng.ExpFloat64() * 10)
		b.Add(rng.ExpFloat64() * 100)
	}
	viaMerge, viaEncoded := sketch.New(), sketch.New()
	require.NoError(t, viaMerge.Merge(a))
	require.NoError(t, viaMerge.Merge(b))
	require.NoError(t, viaEncoded.MergeEncoded(a.Encode()))
	require.NoError(t, viaEncoded.MergeEncoded(b.Encode()))
	require.NoError(t, viaEncoded.MergeEncoded(nil))
	require.Equal(t, viaMerge.Count(), viaEncoded.Count())
	for _, q := range []float64{0.5, 0.95, 0.99} {
		require.Equal(t, viaMerge.Quantile(q), viaEncoded.Quantile(q))
	}
}
