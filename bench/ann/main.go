// Command ann measures the HNSW graph of pkg/adapters/vecindex on dense,
// clustered vectors such as semantic embedding models produce (the search
// benchmark uses the built-in embedder's hashed vectors instead): graph
// build time, recall@10 against the exact scan, and query latency.
//
//	go run ./bench/ann -n 100000 -dims 384
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/vecindex"
	"github.com/lattice-platform/lattice/services/search/domain"
)

func main() {
	n := flag.Int("n", 100000, "vectors")
	dims := flag.Int("dims", 384, "dimensions")
	clusters := flag.Int("clusters", 1000, "cluster centres")
	spread := flag.Float64("spread", 0.05, "per-dimension noise around a centre")
	queries := flag.Int("queries", 300, "queries")
	m := flag.Int("m", 16, "HNSW links per node")
	efc := flag.Int("efc", 100, "HNSW construction candidate list")
	ef := flag.Int("ef", 128, "HNSW search candidate list")
	flag.Parse()

	rng := rand.New(rand.NewPCG(11, 11))
	centres := make([][]float32, *clusters)
	for i := range centres {
		centres[i] = unit(rng, *dims, nil, 1)
	}
	point := func() []float32 { return unit(rng, *dims, centres[rng.IntN(len(centres))], *spread) }
	x := vecindex.New(vecindex.Config{ANNThreshold: 1, HNSW: vecindex.HNSWConfig{M: *m, EfConstruction: *efc, EfSearch: *ef}})
	t0 := time.Now()
	for i := 0; i < *n; i += 10 {
		id := fmt.Sprintf("r%07d", i)
		var cs []domain.Chunk
		for j := i; j < min(i+10, *n); j++ {
			cs = append(cs, domain.Chunk{ID: fmt.Sprint(j), Model: "m", Vector: point()})
		}
		x.Replace(domain.Indexed{Document: domain.Document{ResourceID: id}, Chunks: cs})
	}
	x.WaitForANN()
	fmt.Printf("%d vectors of %d dimensions in %d clusters (spread %.2f); HNSW M %d, efConstruction %d, ef %d\n",
		*n, *dims, *clusters, *spread, *m, *efc, *ef)
	fmt.Printf("graph built in %s\n", time.Since(t0).Round(time.Millisecond))
	all := func(string) bool { return true }
	hits, total := 0, 0
	var annLat, exactLat []time.Duration
	for range *queries {
		q := point()
		t := time.Now()
		exact := x.SearchExact("m", q, all, 10)
		exactLat = append(exactLat, time.Since(t))
		t = time.Now()
		ann := x.Search("m", q, all, 10)
		annLat = append(annLat, time.Since(t))
		want := map[string]bool{}
		for _, r := range exact {
			want[r.ChunkID] = true
		}
		for _, r := range ann {
			if want[r.ChunkID] {
				hits++
			}
		}
		total += len(want)
	}
	fmt.Printf("recall@10 %.3f; HNSW P50 %.2f ms P95 %.2f ms; exact scan P50 %.2f ms\n", float64(hits)/float64(total),
		ms(pct(annLat, 50)), ms(pct(annLat, 95)), ms(pct(exactLat, 50)))
}

func unit(rng *rand.Rand, dims int, centre []float32, spread float64) []float32 {
	v := make([]float32, dims)
	var s float64
	for j := range v {
		x := rng.NormFloat64() * spread
		if centre != nil {
			x += float64(centre[j])
		}
		v[j] = float32(x)
		s += x * x
	}
	n := float32(math.Sqrt(s))
	for j := range v {
		v[j] /= n
	}
	return v
}

func pct(d []time.Duration, p int) time.Duration {
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
