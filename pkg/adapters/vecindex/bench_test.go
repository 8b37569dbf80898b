package vecindex_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lattice-platform/lattice/pkg/adapters/vecindex"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// BenchmarkExactScan measures one query against 100,000 1,024-dimension
// vectors with the exact scan (400 MiB of rows).
func BenchmarkExactScan(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	vecs := clustered(rng, 100000, 1024, 200, 0.03)
	x := vecindex.NewFlat()
	for i := 0; i < len(vecs); i += 10 {
		id := fmt.Sprintf("r%06d", i)
		var cs []domain.Chunk
		for j := i; j < i+10; j++ {
			cs = append(cs, domain.Chunk{ID: fmt.Sprint(j), Model: "m", Vector: vecs[j]})
		}
		x.Replace(id, cs)
	}
	q := vecs[123]
	b.ReportAllocs()
	for b.Loop() {
		if len(x.Search("m", q, all, 10)) != 10 {
			b.Fatal("short result")
		}
	}
}
