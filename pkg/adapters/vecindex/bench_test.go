package vecindex_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lattice-platform/lattice/pkg/adapters/vecindex"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// BenchmarkExactScan measures one dense query against 100,000
// 1,024-dimension vectors with the exact scan (400 MiB of rows).
func BenchmarkExactScan(b *testing.B) {
	x, vecs := benchIndex()
	q := vecs[123]
	b.ReportAllocs()
	for b.Loop() {
		if len(x.Search("m", q, all, 10)) != 10 {
			b.Fatal("short result")
		}
	}
}

// BenchmarkExactScanSparse is the same with a query that sets 150 of the
// 1,024 values (as the built-in embedder's few-word queries do): the
// column scan reads 150 columns.
func BenchmarkExactScanSparse(b *testing.B) {
	x, vecs := benchIndex()
	q := make([]float32, 1024)
	for j := 0; j < 1024; j += 7 {
		q[j] = vecs[123][j]
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(x.Search("m", q, all, 10)) != 10 {
			b.Fatal("short result")
		}
	}
}

func benchIndex() (*vecindex.Index, [][]float32) {
	rng := rand.New(rand.NewPCG(3, 3))
	vecs := clustered(rng, 100000, 1024, 200, 0.03)
	x := vecindex.NewFlat()
	for i := 0; i < len(vecs); i += 10 {
		id := fmt.Sprintf("r%06d", i)
		var cs []domain.Chunk
		for j := i; j < i+10; j++ {
			cs = append(cs, domain.Chunk{ID: fmt.Sprint(j), Model: "m", Vector: vecs[j]})
		}
		x.Replace(domain.Indexed{Document: domain.Document{ResourceID: id}, Chunks: cs})
	}
	return x, vecs
}

// BenchmarkAddUploads adds an upload's 340 chunks of 1,024 dimensions (the
// built-in embedder's) as a new resource each time: the cost of the
// index's growth, amortised over a backlog of uploads.
//
//	go test -run '^$' -bench AddUploads -benchtime 400x -benchmem ./pkg/adapters/vecindex/
func BenchmarkAddUploads(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	vecs := clustered(rng, 340, 1024, 20, 0.03)
	x := vecindex.New(vecindex.Config{ANNThreshold: -1})
	n := 0
	for b.Loop() {
		id := fmt.Sprintf("r%06d", n)
		cs := make([]domain.Chunk, len(vecs))
		for j, v := range vecs {
			cs[j] = domain.Chunk{ID: fmt.Sprintf("%s-%d", id, j), ResourceID: id, Model: "m", Vector: v}
		}
		x.Replace(domain.Indexed{Document: domain.Document{ResourceID: id}, Chunks: cs})
		n++
	}
}

// annData is the ANN benchmarks' data: 8,000 clustered vectors of 1,024
// dimensions to index and 200 queries drawn around the same centres.
func annData() (vecs, queries [][]float32) {
	rng := rand.New(rand.NewPCG(9, 9))
	vecs = clustered(rng, 8000, 1024, 40, 0.02)
	queries = clustered(rng, 200, 1024, 40, 0.02)
	return vecs, queries
}

// annIndex indexes vecs with the graph live from the first vector, and
// returns once the graph holds them all.
func annIndex(vecs [][]float32) *vecindex.Index {
	x := vecindex.New(vecindex.Config{ANNThreshold: 1})
	load(x, vecs)
	x.WaitForANN()
	return x
}

// BenchmarkANNBuild builds a model's graph of annData's vectors, one
// insert at a time as search makes them once a model has a graph, and
// reports the graph's recall@10 against the exact scan.
//
//	go test -run '^$' -bench ANNBuild -benchtime 2x ./pkg/adapters/vecindex/
func BenchmarkANNBuild(b *testing.B) {
	vecs, queries := annData()
	var recall float64
	for b.Loop() {
		x := annIndex(vecs)
		b.StopTimer()
		recall = recallAt10(b, x, queries, all)
		b.StartTimer()
	}
	b.ReportMetric(recall, "recall@10")
}

// BenchmarkANNSearch searches the graph BenchmarkANNBuild builds: one
// query of the 200 a time.
//
//	go test -run '^$' -bench ANNSearch -count 3 ./pkg/adapters/vecindex/
func BenchmarkANNSearch(b *testing.B) {
	vecs, queries := annData()
	x := annIndex(vecs)
	i := 0
	for b.Loop() {
		x.Search("m", queries[i%len(queries)], all, 10)
		i++
	}
}
