package vecindex

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/viterin/vek/vek32"
)

// HNSWConfig tunes the graph (Malkov & Yashunin, 2016).
type HNSWConfig struct {
	M              int // links per node on upper layers (default 16); layer 0 has 2M
	EfConstruction int // candidate list while inserting (default 100)
	EfSearch       int // candidate list while searching (default 128), raised to k
}

func (c HNSWConfig) withDefaults() HNSWConfig {
	if c.M <= 0 {
		c.M = 16
	}
	if c.EfConstruction <= 0 {
		c.EfConstruction = 100
	}
	if c.EfSearch <= 0 {
		c.EfSearch = 128
	}
	return c
}

// hnsw is a hierarchical navigable small-world graph over the rows of a
// model; it stores row numbers, the vectors stay in the rows. Neighbours
// are chosen with the paper's heuristic (algorithm 4), which keeps links
// to distinct directions and is what keeps recall high on clustered data;
// picking the plain nearest M is where simpler implementations lose it.
type hnsw struct {
	cfg    HNSWConfig
	vec    func(row int32) []float32
	links  [][][]int32 // links[row][layer]
	entry  int32
	top    int
	rng    *rand.Rand
	levelM float64
	// visited serves inserts, which run one at a time; concurrent searches
	// take theirs from visitPool.
	visited *visitSet
}

// visitSet marks nodes seen during one search: a slice stamped with a
// search number, reset by bumping the number rather than clearing — much
// cheaper than a map on the hot path of both inserting and searching.
type visitSet struct {
	marks []uint32
	epoch uint32
}

func (v *visitSet) reset(n int) {
	if len(v.marks) < n {
		v.marks, v.epoch = make([]uint32, n+n/4), 0
	}
	v.epoch++
	if v.epoch == 0 { // wrapped: start afresh
		clear(v.marks)
		v.epoch = 1
	}
}

// first marks row and reports whether it was not marked before.
func (v *visitSet) first(row int32) bool {
	if v.marks[row] == v.epoch {
		return false
	}
	v.marks[row] = v.epoch
	return true
}

var visitPool = sync.Pool{New: func() any { return &visitSet{} }}

func newHNSW(cfg HNSWConfig, vec func(int32) []float32) *hnsw {
	cfg = cfg.withDefaults()
	return &hnsw{cfg: cfg, vec: vec, entry: -1, rng: rand.New(rand.NewPCG(1, 2)), levelM: 1 / math.Log(float64(cfg.M))}
}

func (h *hnsw) dist(q []float32, row int32) float32 { return 1 - vek32.Dot(q, h.vec(row)) }

type cand struct {
	row  int32
	dist float32
}

// minQ pops the nearest first; maxQ pops the farthest first.
type minQ []cand
type maxQ []cand

func (q minQ) Len() int           { return len(q) }
func (q minQ) Less(i, j int) bool { return q[i].dist < q[j].dist }
func (q minQ) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *minQ) Push(x any)        { *q = append(*q, x.(cand)) }
func (q *minQ) Pop() any          { o := *q; x := o[len(o)-1]; *q = o[:len(o)-1]; return x }
func (q maxQ) Len() int           { return len(q) }
func (q maxQ) Less(i, j int) bool { return q[i].dist > q[j].dist }
func (q maxQ) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *maxQ) Push(x any)        { *q = append(*q, x.(cand)) }
func (q *maxQ) Pop() any          { o := *q; x := o[len(o)-1]; *q = o[:len(o)-1]; return x }

// searchLayer is the paper's algorithm 2: the ef nearest to q reachable
// from the entry points on one layer, nearest first. accept, when set,
// decides which nodes may be results; every node is still walked through,
// so filtered-out regions do not cut the graph.
func (h *hnsw) searchLayer(q []float32, entries []cand, ef, layer int, accept func(int32) bool, visited *visitSet) []cand {
	visited.reset(len(h.links))
	var candidates minQ
	var results maxQ
	for _, e := range entries {
		visited.first(e.row)
		heap.Push(&candidates, e)
		if accept == nil || accept(e.row) {
			heap.Push(&results, e)
		}
	}
	for candidates.Len() > 0 {
		c := heap.Pop(&candidates).(cand)
		if results.Len() >= ef && c.dist > results[0].dist {
			break
		}
		for _, n := range h.links[c.row][layer] {
			if !visited.first(n) {
				continue
			}
			d := h.dist(q, n)
			if results.Len() < ef || d < results[0].dist {
				heap.Push(&candidates, cand{n, d})
				if accept == nil || accept(n) {
					heap.Push(&results, cand{n, d})
					if results.Len() > ef {
						heap.Pop(&results)
					}
				}
			}
		}
	}
	out := make([]cand, results.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&results).(cand)
	}
	return out
}

// selectNeighbours is the heuristic: take candidates nearest first, keeping
// one only if it is nearer to the new node than to every neighbour kept;
// then fill the remaining places with the nearest of those passed over
// (the paper's keepPrunedConnections), so no node is left thinly linked.
func (h *hnsw) selectNeighbours(cands []cand, m int) []int32 {
	out := make([]int32, 0, m)
	var pruned []int32
	for _, c := range cands {
		if len(out) == m {
			break
		}
		good := true
		cv := h.vec(c.row)
		for _, kept := range out {
			if 1-vek32.Dot(cv, h.vec(kept)) < c.dist {
				good = false
				break
			}
		}
		if good {
			out = append(out, c.row)
		} else {
			pruned = append(pruned, c.row)
		}
	}
	for _, p := range pruned {
		if len(out) == m {
			break
		}
		out = append(out, p)
	}
	return out
}

func (h *hnsw) maxLinks(layer int) int {
	if layer == 0 {
		return 2 * h.cfg.M
	}
	return h.cfg.M
}

// insert adds a row (rows are inserted once, in any order).
func (h *hnsw) insert(row int32) {
	for int(row) >= len(h.links) {
		h.links = append(h.links, nil)
	}
	level := int(-math.Log(1-h.rng.Float64()) * h.levelM)
	h.links[row] = make([][]int32, level+1)
	if h.visited == nil {
		h.visited = &visitSet{}
	}
	if h.entry < 0 {
		h.entry, h.top = row, level
		return
	}
	q := h.vec(row)
	ep := []cand{{h.entry, h.dist(q, h.entry)}}
	for l := h.top; l > level; l-- {
		ep = h.searchLayer(q, ep, 1, l, nil, h.visited)[:1]
	}
	for l := min(level, h.top); l >= 0; l-- {
		found := h.searchLayer(q, ep, h.cfg.EfConstruction, l, nil, h.visited)
		neighbours := h.selectNeighbours(found, h.cfg.M)
		h.links[row][l] = neighbours
		for _, n := range neighbours {
			nl := append(h.links[n][l], row)
			if len(nl) > h.maxLinks(l) {
				nv := h.vec(n)
				cs := make([]cand, len(nl))
				for i, x := range nl {
					cs[i] = cand{x, 1 - vek32.Dot(nv, h.vec(x))}
				}
				sortCands(cs)
				nl = h.selectNeighbours(cs, h.maxLinks(l))
			}
			h.links[n][l] = nl
		}
		ep = found
	}
	if level > h.top {
		h.entry, h.top = row, level
	}
}

// search returns up to ef accepted rows nearest to q, nearest first.
func (h *hnsw) search(q []float32, ef int, accept func(int32) bool) []cand {
	if h.entry < 0 {
		return nil
	}
	visited := visitPool.Get().(*visitSet)
	defer visitPool.Put(visited)
	ep := []cand{{h.entry, h.dist(q, h.entry)}}
	for l := h.top; l > 0; l-- {
		ep = h.searchLayer(q, ep, 1, l, nil, visited)[:1]
	}
	return h.searchLayer(q, ep, ef, 0, accept, visited)
}

func sortCands(cs []cand) {
	// Insertion sort: neighbour lists are short.
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].dist < cs[j-1].dist; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}
