package vecindex_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/vecindex"
	"github.com/lattice-platform/lattice/services/search/domain"
)

func normalise(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := float32(math.Sqrt(s))
	for i := range v {
		v[i] /= n
	}
	return v
}

// clustered makes n unit vectors around a few centres: the data on which
// careless HNSW implementations lose recall.
func clustered(rng *rand.Rand, n, dims, clusters int, spread float64) [][]float32 {
	centres := make([][]float32, clusters)
	for i := range centres {
		c := make([]float32, dims)
		for j := range c {
			c[j] = float32(rng.NormFloat64())
		}
		centres[i] = normalise(c)
	}
	out := make([][]float32, n)
	for i := range out {
		c := centres[rng.IntN(clusters)]
		v := make([]float32, dims)
		for j := range v {
			v[j] = c[j] + float32(rng.NormFloat64()*spread)
		}
		out[i] = normalise(v)
	}
	return out
}

// load puts each vector in as its own resource's single chunk.
func load(x *vecindex.Index, vecs [][]float32) {
	for i, v := range vecs {
		id := fmt.Sprintf("r%05d", i)
		x.Replace(domain.Indexed{Document: domain.Document{ResourceID: id}, Chunks: []domain.Chunk{{ID: "c-" + id, ResourceID: id, Model: "m", Vector: v}}})
	}
}

func all(string) bool { return true }

func recallAt10(t testing.TB, x *vecindex.Index, queries [][]float32, allow func(string) bool) float64 {
	t.Helper()
	hits, total := 0, 0
	for _, q := range queries {
		want := map[string]bool{}
		for _, r := range x.SearchExact("m", q, allow, 10) {
			want[r.ChunkID] = true
		}
		for _, r := range x.Search("m", q, allow, 10) {
			if want[r.ChunkID] {
				hits++
			}
		}
		total += len(want)
	}
	return float64(hits) / float64(total)
}

func TestHNSWRecallOnClusteredData(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	vecs := clustered(rng, 6000, 64, 40, 0.08)
	x := vecindex.New(vecindex.Config{ANNThreshold: 1000})
	load(x, vecs)
	x.WaitForANN()
	queries := clustered(rng, 200, 64, 40, 0.08)
	recall := recallAt10(t, x, queries, all)
	t.Logf("recall@10 = %.3f", recall)
	require.GreaterOrEqual(t, recall, 0.95)

	// Filtered searches keep their recall and never return what is not allowed.
	even := func(id string) bool { return (id[len(id)-1]-'0')%2 == 0 }
	require.GreaterOrEqual(t, recallAt10(t, x, queries[:50], even), 0.95)
	for _, q := range queries[:20] {
		for _, r := range x.Search("m", q, even, 10) {
			require.True(t, even(strings.TrimPrefix(r.ChunkID, "c-")), r.ChunkID)
		}
	}
	// A very selective filter falls back to the exact scan.
	one := func(id string) bool { return id == "r00042" }
	got := x.Search("m", queries[0], one, 10)
	require.Len(t, got, 1)
	require.Equal(t, "c-r00042", got[0].ChunkID)
}

func TestReplaceRemoveAndCompact(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1))
	vecs := clustered(rng, 3000, 32, 10, 0.1)
	x := vecindex.New(vecindex.Config{ANNThreshold: 500})
	load(x, vecs)
	x.WaitForANN()
	require.Equal(t, map[string]int{"m": 3000}, x.Counts())
	// Remove most resources: the rows compact and the graph is rebuilt.
	for i := range 2500 {
		x.Replace(domain.Indexed{Document: domain.Document{ResourceID: fmt.Sprintf("r%05d", i)}})
	}
	x.WaitForANN()
	require.Equal(t, map[string]int{"m": 500}, x.Counts())
	for _, q := range vecs[:50] {
		for _, r := range x.Search("m", q, all, 10) {
			var n int
			_, err := fmt.Sscanf(r.ChunkID, "c-r%05d", &n)
			require.NoError(t, err)
			require.GreaterOrEqual(t, n, 2500, "a removed chunk is never returned")
		}
	}
	require.GreaterOrEqual(t, recallAt10(t, x, vecs[2500:2600], all), 0.95)
	// Vectors of another model live apart.
	x.Replace(domain.Indexed{Document: domain.Document{ResourceID: "other"}, Chunks: []domain.Chunk{{ID: "o1", Model: "m2", Vector: vecs[0][:16]}}})
	require.Empty(t, x.Search("m", vecs[0][:16], all, 5), "a query of the wrong dimension matches nothing")
	require.Equal(t, "o1", x.Search("m2", vecs[0][:16], all, 5)[0].ChunkID)
	// The best match of a stored vector is itself.
	require.Equal(t, "c-r02600", x.Search("m", vecs[2600], all, 1)[0].ChunkID)
}

func TestSparseQueriesScoreExactlyAsDenseOnes(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 5))
	vecs := clustered(rng, 9000, 128, 20, 0.1)
	x := vecindex.NewFlat()
	load(x, vecs)
	for range 20 {
		// A query with 16 of 128 values set takes the column path; the same
		// query with tiny values elsewhere takes the row path.
		sparse, dense := make([]float32, 128), make([]float32, 128)
		for i := range dense {
			dense[i] = 1e-30
		}
		for range 16 {
			j := rng.IntN(128)
			sparse[j] = float32(rng.NormFloat64())
			dense[j] = sparse[j]
		}
		a := x.Search("m", sparse, all, 10)
		b := x.Search("m", dense, all, 10)
		require.Len(t, a, 10)
		for i := range a {
			require.Equal(t, b[i].ChunkID, a[i].ChunkID)
			require.InDelta(t, b[i].Score, a[i].Score, 1e-5)
		}
		odd := func(id string) bool { return (id[len(id)-1]-'0')%2 == 1 }
		for _, r := range x.Search("m", sparse, odd, 10) {
			require.True(t, odd(strings.TrimPrefix(r.ChunkID, "c-")))
		}
	}
	// Removed rows are never returned by either path.
	for i := range 5000 { // more than half: the rows are compacted
		x.Replace(domain.Indexed{Document: domain.Document{ResourceID: fmt.Sprintf("r%05d", i)}})
	}
	q := make([]float32, 128)
	q[3] = 1
	for _, r := range x.Search("m", q, all, 50) {
		var n int
		_, err := fmt.Sscanf(r.ChunkID, "c-r%05d", &n)
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, 5000)
	}
}

// TestReplacingSomeSourcesKeepsTheOthers: a replacement that names
// sources replaces their chunks only; one that names none, or a deleted
// document, replaces everything.
func TestReplacingSomeSourcesKeepsTheOthers(t *testing.T) {
	x := vecindex.NewFlat()
	chunk := func(id, file string, axis int) domain.Chunk {
		v := make([]float32, 4)
		v[axis] = 1
		return domain.Chunk{ID: id, ResourceID: "r", FileID: file, Model: "m", Vector: v}
	}
	ids := func() []string {
		var out []string
		for _, r := range x.Search("m", []float32{0.5, 0.5, 0.5, 0.5}, all, 10) {
			out = append(out, r.ChunkID)
		}
		slices.Sort(out)
		return out
	}
	doc := domain.Document{ResourceID: "r"}
	x.Replace(domain.Indexed{Document: doc, Chunks: []domain.Chunk{chunk("body", "", 0), chunk("a1", "a", 1), chunk("b1", "b", 2)}})
	require.Equal(t, []string{"a1", "b1", "body"}, ids())

	x.Replace(domain.Indexed{Document: doc, Sources: []string{"a"}, Chunks: []domain.Chunk{chunk("a2", "a", 1), chunk("a3", "a", 3)}})
	require.Equal(t, []string{"a2", "a3", "b1", "body"}, ids())
	x.Replace(domain.Indexed{Document: doc, Sources: []string{"b", ""}})
	require.Equal(t, []string{"a2", "a3"}, ids())
	require.Equal(t, map[string]int{"m": 2}, x.Counts())

	x.Replace(domain.Indexed{Document: domain.Document{ResourceID: "r", Deleted: true}, Sources: []string{"b"}})
	require.Empty(t, ids(), "a deleted document leaves whole")
}
