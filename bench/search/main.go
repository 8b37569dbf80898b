// Command search benchmarks the search core on a generated corpus: index
// build time and memory, text/vector/hybrid query latency, and the HNSW
// graph's recall@10 against the exact scan. It prints the figures that
// docs/benchmarks.md records.
//
//	go run ./bench/search -chunks 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/bleveindex"
	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
	"github.com/lattice-platform/lattice/pkg/adapters/vecindex"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/app/fake"
	"github.com/lattice-platform/lattice/services/search/domain"
)

func main() {
	chunks := flag.Int("chunks", 100000, "chunks in the corpus")
	perDoc := flag.Int("per-doc", 10, "chunks per document")
	queries := flag.Int("queries", 300, "queries per mode")
	threshold := flag.Int("ann-threshold", 150000, "vectors from which HNSW answers")
	ef := flag.Int("ef", 128, "HNSW search candidate list")
	m := flag.Int("m", 16, "HNSW links per node")
	efc := flag.Int("efc", 100, "HNSW construction candidate list")
	flag.Parse()
	hnsw := vecindex.HNSWConfig{M: *m, EfConstruction: *efc, EfSearch: *ef}
	if err := run(*chunks, *perDoc, *queries, *threshold, hnsw); err != nil {
		log.Fatal(err)
	}
}

// corpus makes topic-clustered text from a Zipf-distributed vocabulary of
// made-up words, so that BM25 has rare and common terms and vectors form
// clusters as real documents do. As in English, the most frequent words
// are function words: the head of the distribution is the analyser's stop
// words, which it drops, as it does from real text.
type corpus struct {
	rng    *rand.Rand
	vocab  []string
	topics [][]int // each topic's favoured words
	zipf   *rand.Zipf
}

func newCorpus(seed uint64) *corpus {
	rng := rand.New(rand.NewPCG(seed, seed))
	syll := []string{"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "qu", "ze", "ba", "do", "fi", "gu", "ha", "jo"}
	stop := strings.Fields("the of and to a in is it that was for on are as with his they at be this from have or by one had not but what all were when we there can an your which their if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know")
	vocab := make([]string, 20000)
	copy(vocab, stop)
	for i := len(stop); i < len(vocab); i++ {
		var b strings.Builder
		for range 2 + rng.IntN(3) {
			b.WriteString(syll[rng.IntN(len(syll))])
		}
		vocab[i] = b.String()
	}
	topics := make([][]int, 200)
	for i := range topics {
		for range 300 {
			topics[i] = append(topics[i], rng.IntN(len(vocab)))
		}
	}
	return &corpus{rng: rng, vocab: vocab, topics: topics, zipf: rand.NewZipf(rng, 1.1, 1, uint64(len(vocab)-1))}
}

func (c *corpus) sentence(topic, words int) string {
	out := make([]string, words)
	for i := range out {
		if c.rng.IntN(2) == 0 {
			t := c.topics[topic]
			out[i] = c.vocab[t[c.rng.IntN(len(t))]]
		} else {
			out[i] = c.vocab[c.zipf.Uint64()]
		}
	}
	return strings.Join(out, " ") + "."
}

func heapMiB() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

func percentile(d []time.Duration, p int) time.Duration {
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*p/100)]
}

func run(nChunks, perDoc, nQueries, threshold int, hnsw vecindex.HNSWConfig) error {
	ctx := context.Background()
	c := newCorpus(42)
	store := fake.NewSearchStore()
	emb := hashembed.Embedder{}
	owners := []string{"u1", "u2", "u3", "u4"}
	vis := []string{domain.Private, domain.Internal, domain.Public}

	t0 := time.Now()
	var texts []string
	for d := 0; d*perDoc < nChunks; d++ {
		id := fmt.Sprintf("00000000-0000-7000-8000-%012d", d)
		topic := c.rng.IntN(len(c.topics))
		if _, err := store.PutDocument(ctx, domain.Document{ResourceID: id, OwnerID: owners[d%len(owners)], Title: "Doc",
			Visibility: vis[d%len(vis)], Version: 1, UpdatedAt: time.Now()}); err != nil {
			return err
		}
		set := domain.ChunkSet{ResourceID: id, Version: 1, Model: emb.Model(), Dimensions: emb.Dimensions()}
		batch := make([]string, perDoc)
		for i := range batch {
			batch[i] = c.sentence(topic, 25) + " " + c.sentence(topic, 25)
		}
		vecs, err := emb.Embed(ctx, batch)
		if err != nil {
			return err
		}
		for i, tx := range batch {
			set.Chunks = append(set.Chunks, domain.Chunk{ID: fmt.Sprintf("%s-%03d", id, i), Index: i, Text: tx, Vector: vecs[i]})
		}
		texts = append(texts, batch[0])
		if _, err := store.ReplaceChunks(ctx, set); err != nil {
			return err
		}
	}
	fmt.Printf("corpus: %d chunks in %d documents generated and embedded in %s\n", nChunks, len(texts), time.Since(t0).Round(time.Millisecond))

	dir, err := os.MkdirTemp("", "lattice-bench-search")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	before := heapMiB()
	text, err := bleveindex.New(dir+"/idx", nil)
	if err != nil {
		return err
	}
	defer text.Close()
	vectors := vecindex.New(vecindex.Config{ANNThreshold: threshold, HNSW: hnsw})
	svc := app.New(app.Deps{Store: store, Text: text, Vectors: vectors, Embedder: emb}, app.Options{})
	t0 = time.Now()
	if err := svc.Load(ctx); err != nil {
		return err
	}
	loaded := time.Since(t0)
	fmt.Printf("build: full text + exact vectors ready after %s; building the HNSW graph…\n", loaded.Round(time.Millisecond))
	vectors.WaitForANN()
	annDone := time.Since(t0)
	graph := "no HNSW graph (below the threshold: exact scans)"
	if threshold > 0 && nChunks >= threshold {
		graph = "HNSW graph ready after " + annDone.Round(time.Millisecond).String()
	}
	fmt.Printf("build: %s; heap %.0f MiB (one copy of the vectors: %.0f MiB)\n",
		graph, heapMiB()-before, float64(nChunks*emb.Dimensions()*4)/(1<<20))

	// Queries: two or three words of a document's first chunk.
	qs := make([]string, nQueries)
	for i := range qs {
		words := strings.Fields(strings.TrimSuffix(texts[c.rng.IntN(len(texts))], "."))
		start := c.rng.IntN(len(words) - 3)
		qs[i] = strings.Join(words[start:start+2+c.rng.IntN(2)], " ")
	}
	callers := map[string]domain.Caller{
		"admin": {Subject: "root", Scopes: []string{domain.ScopeSearchRead, domain.ScopeResourcesAdmin}},
		"user":  {Subject: "u1", Scopes: []string{domain.ScopeSearchRead, domain.ScopeResourcesRead}},
	}
	for _, who := range []string{"admin", "user"} {
		for _, mode := range []domain.Mode{domain.ModeText, domain.ModeVector, domain.ModeHybrid} {
			lat := make([]time.Duration, 0, len(qs))
			for _, q := range qs {
				t := time.Now()
				if _, err := svc.Search(ctx, callers[who], domain.Query{Text: q, Mode: mode, Weight: 0.5, Limit: 10}); err != nil {
					return err
				}
				lat = append(lat, time.Since(t))
			}
			fmt.Printf("query %-6s as %-5s: P50 %6.2f ms  P95 %6.2f ms\n", mode, who,
				float64(percentile(lat, 50).Microseconds())/1000, float64(percentile(lat, 95).Microseconds())/1000)
		}
	}

	// Recall of the graph against the exact scan: for the text queries
	// above (short, unlike any chunk: the hard case) unfiltered and as a
	// user, and for chunk-like queries (a stored chunk's own vector).
	chunkQueries := make([][]float32, 0, len(qs))
	for len(chunkQueries) < len(qs) {
		id := fmt.Sprintf("00000000-0000-7000-8000-%012d", c.rng.IntN(len(texts)))
		cs, err := store.Chunks(ctx, id)
		if err != nil {
			return err
		}
		chunkQueries = append(chunkQueries, cs[c.rng.IntN(len(cs))].Vector)
	}
	for _, who := range []string{"admin", "user", "chunk-like"} {
		allow := func(string) bool { return true }
		if who == "user" {
			allow = func(id string) bool {
				d, err := store.Document(ctx, id)
				return err == nil && callers[who].CanRead(d)
			}
		}
		hits, total := 0, 0
		var annLat, exactLat []time.Duration
		for i, q := range qs {
			v, _ := emb.Embed(ctx, []string{q})
			if who == "chunk-like" {
				v[0] = chunkQueries[i]
			}
			t := time.Now()
			exact := vectors.SearchExact(emb.Model(), v[0], allow, 10)
			exactLat = append(exactLat, time.Since(t))
			t = time.Now()
			ann := vectors.Search(emb.Model(), v[0], allow, 10)
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
		fmt.Printf("vectors, %-10s: recall@10 %.3f; HNSW P50 %.2f ms, exact scan P50 %.2f ms\n", who, float64(hits)/math.Max(1, float64(total)),
			float64(percentile(annLat, 50).Microseconds())/1000, float64(percentile(exactLat, 50).Microseconds())/1000)
	}
	return nil
}
