// Package vecindex holds the search service's vector ranker. Every model
// keeps its vectors in blocks of contiguous float32 rows; a query is
// answered by an exact scan with SIMD dot products (viterin/vek), split
// across cores, or, once a model holds ANNThreshold vectors, by an HNSW
// graph built over the same rows in the background. Vectors are
// L2-normalised by both embedders, so the dot product is the cosine
// similarity. Models never share rows, so their vectors are never compared.
package vecindex

import (
	"container/heap"
	"runtime"
	"sync"
	"time"

	"github.com/viterin/vek/vek32"

	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// Config tunes the index; zero values take the defaults.
type Config struct {
	// ANNThreshold is the number of vectors of one model from which an
	// HNSW graph answers instead of the exact scan (default 150,000; a
	// negative value never builds one).
	ANNThreshold int
	HNSW         HNSWConfig
}

// Index is the app.VectorIndex.
type Index struct {
	cfg    Config
	mu     sync.RWMutex
	models map[string]*rows
	byRes  map[string][]chunkRef // resource id → its chunks
}

var _ app.VectorIndex = (*Index)(nil)

type chunkRef struct{ model, id, file string }

// rows is one model's vectors, in blocks of blockRows rows: row i is
// block i/blockRows, at (i%blockRows)*dims. Rows are append-only; a
// removed row is marked dead (so row numbers in the graph stay valid) and
// the rows are compacted when too many are dead. The same values are also
// kept column by column, in blocks of the same rows (colBlocks[b] holds
// column j at j*blockRows): a query with few non-zero values, such as the
// built-in embedder's for a few words, is scored exactly by reading only
// those columns — a fraction of the memory a row scan reads.
//
// Blocks, not one array: an array grown by append is copied whole each
// time it outgrows its room, and at a few hundred thousand vectors that is
// gigabytes allocated, zeroed and faulted in at once, which stalled every
// request of the process (benchmarks.md, Journeys, session 22). A block,
// once made, never moves.
type rows struct {
	dims      int
	blocks    [][]float32 // row-major, blockRows*dims values each
	colBlocks [][]float32 // column-major, the same rows
	columned  int         // rows whose values colBlocks holds: all, outside Replace
	ids       []string    // chunk id per row
	slots     []int32     // resource slot per row
	alive     []bool
	pos       map[string]int32 // live chunk id → row
	dead      int
	// Resources are numbered so a search can cache its visibility
	// decisions in a slice instead of a map.
	slotOf map[string]int32
	resOf  []string

	graph      *hnsw // answers searches once built
	building   *hnsw // being built in the background
	generation int   // bumped by compaction, which invalidates a build
}

// New returns an empty index.
func New(cfg Config) *Index {
	if cfg.ANNThreshold == 0 {
		cfg.ANNThreshold = 150000
	}
	return &Index{cfg: cfg, models: map[string]*rows{}, byRes: map[string][]chunkRef{}}
}

// NewFlat returns an index that always scans exactly.
func NewFlat() *Index { return New(Config{ANNThreshold: -1}) }

// blockRows is the rows of one block: 8 MiB a block, row-major or
// column-major, for 1,024-value vectors. The column scan scores one block
// at a time, so its partial scores stay in the L1 cache.
const blockRows = 2048

func (r *rows) vec(row int32) []float32 { return rowIn(r.blocks, r.dims, int(row)) }

// rowIn is row i of blocks of dims-value rows.
func rowIn(blocks [][]float32, dims, i int) []float32 {
	at := (i % blockRows) * dims
	return blocks[i/blockRows][at : at+dims : at+dims]
}

// put writes v as row i, the row after the last, making a block (and
// its column twin) if it starts one. The row's columns are written later,
// with the other rows added alongside it, by columns.
func (r *rows) put(i int, v []float32) {
	b, at := i/blockRows, i%blockRows
	if at == 0 {
		r.blocks = append(r.blocks, newBlock(blockRows*r.dims))
		r.colBlocks = append(r.colBlocks, newBlock(blockRows*r.dims))
	}
	copy(r.blocks[b][at*r.dims:], v)
}

// columnTile is how many columns columns writes at once: one 64-byte
// cache line of each row.
const columnTile = 16

// columns copies the rows added since the last call into the column
// blocks, so that a search, which runs under the index's lock after the
// rows' writer has released it, sees them in both. A row's values lie
// blockRows values apart in the column blocks, each in a cache line and a
// page of its own: written a row at a time, an upload's 340 rows of 1,024
// values took 5 ms (BenchmarkAddUploads). A tile of columnTile columns at
// a time reads one cache line of each row and fills columnTile lines of
// columns, which stay in the cache until they are full.
func (r *rows) columns() {
	dims := r.dims
	blockSpans(r.columned, len(r.ids), func(b, from, to int) {
		src, cols := r.blocks[b], r.colBlocks[b]
		for j0 := 0; j0 < dims; j0 += columnTile {
			j1 := min(j0+columnTile, dims)
			for at := from; at < to; at++ {
				for j, x := range src[at*dims+j0 : at*dims+j1] {
					cols[(j0+j)*blockRows+at] = x
				}
			}
		}
	})
	r.columned = len(r.ids)
}

func (r *rows) live() int { return len(r.ids) - r.dead }

func (r *rows) slot(resourceID string) int32 {
	s, ok := r.slotOf[resourceID]
	if !ok {
		s = int32(len(r.resOf))
		r.slotOf[resourceID] = s
		r.resOf = append(r.resOf, resourceID)
	}
	return s
}

func (r *rows) add(resourceID, id string, v []float32) (int32, bool) {
	if _, dup := r.pos[id]; dup {
		return 0, false
	}
	row := int32(len(r.ids))
	r.pos[id] = row
	r.put(len(r.ids), v)
	r.ids = append(r.ids, id)
	r.slots = append(r.slots, r.slot(resourceID))
	r.alive = append(r.alive, true)
	return row, true
}

func (r *rows) remove(id string) {
	if row, ok := r.pos[id]; ok {
		r.alive[row] = false
		r.dead++
		delete(r.pos, id)
	}
}

// compactAfterDead is how many dead rows a model's arrays keep before
// they compact (and only once they are more than the live ones).
const compactAfterDead = 1000

// compact drops dead rows into new blocks (a background build may still
// be reading the old ones); the graph is rebuilt afterwards.
func (r *rows) compact() {
	blocks, ids, slots, alive := r.blocks, r.ids, r.slots, r.alive
	n := r.live()
	r.blocks, r.colBlocks, r.columned = nil, nil, 0
	r.ids, r.slots, r.alive = make([]string, 0, n), make([]int32, 0, n), make([]bool, 0, n)
	for i, ok := range alive {
		if !ok {
			continue
		}
		r.pos[ids[i]] = int32(len(r.ids))
		r.put(len(r.ids), rowIn(blocks, r.dims, i))
		r.ids, r.slots, r.alive = append(r.ids, ids[i]), append(r.slots, slots[i]), append(r.alive, true)
	}
	r.columns()
	r.dead, r.graph, r.building = 0, nil, nil
	r.generation++
}

// Replace sets a resource's chunks: all of them, or those of the sources
// in.Sources names, keeping the others.
func (x *Index) Replace(in domain.Indexed) {
	resourceID := in.Document.ResourceID
	x.mu.Lock()
	defer x.mu.Unlock()
	touched := map[string]*rows{}
	old := x.byRes[resourceID]
	refs := make([]chunkRef, 0, len(old)+len(in.Chunks))
	for _, c := range old {
		if !in.Replaces(c.file) {
			refs = append(refs, c)
			continue
		}
		m := x.models[c.model]
		m.remove(c.id)
		touched[c.model] = m
	}
	for _, c := range in.Chunks {
		if len(c.Vector) == 0 {
			continue
		}
		m, ok := x.models[c.Model]
		if !ok {
			m = &rows{dims: len(c.Vector), pos: map[string]int32{}, slotOf: map[string]int32{}}
			x.models[c.Model] = m
		}
		if len(c.Vector) != m.dims {
			continue // a model's vectors all have its dimension; the event was checked
		}
		row, ok := m.add(resourceID, c.ID, c.Vector)
		if !ok {
			continue
		}
		if m.graph != nil {
			m.graph.insert(row)
		}
		touched[c.Model] = m
		refs = append(refs, chunkRef{model: c.Model, id: c.ID, file: c.FileID})
	}
	if len(refs) == 0 {
		delete(x.byRes, resourceID)
	} else {
		x.byRes[resourceID] = refs
	}
	for _, m := range touched {
		m.columns()
		if m.dead > compactAfterDead && m.dead > m.live() {
			m.compact()
		}
		if x.cfg.ANNThreshold > 0 && m.graph == nil && m.building == nil && m.live() >= x.cfg.ANNThreshold {
			m.building = newHNSW(x.cfg.HNSW, m.vec)
			go x.build(m, m.building, m.generation)
		}
	}
}

// build inserts every row into g, then makes it answer searches. It
// holds no lock while inserting: g is not yet visible to searches, and it
// reads vectors from a snapshot of the blocks, whose rows are append-only
// (rows added meanwhile lie beyond the snapshot; compaction makes new
// blocks and ends this build). Only catching up with the last rows and
// going live happen under the write lock.
func (x *Index) build(m *rows, g *hnsw, generation int) {
	next := 0
	for {
		x.mu.RLock()
		if m.generation != generation || m.building != g {
			x.mu.RUnlock()
			return // compacted meanwhile: a new build will start
		}
		blocks, n, dims := m.blocks, len(m.ids), m.dims
		x.mu.RUnlock()
		if next == n {
			x.mu.Lock()
			if m.generation == generation && m.building == g {
				g.vec = m.vec
				for ; next < len(m.ids); next++ {
					g.insert(int32(next))
				}
				m.graph, m.building = g, nil
			}
			x.mu.Unlock()
			return
		}
		// Rows below n lie in blocks already made and are never written
		// again; later rows may be written meanwhile, into other elements.
		g.vec = func(row int32) []float32 { return rowIn(blocks, dims, int(row)) }
		for ; next < n; next++ {
			g.insert(int32(next))
		}
	}
}

// WaitForANN blocks until no background build is running (benchmarks and
// tests use it to measure build time and recall).
func (x *Index) WaitForANN() {
	for {
		x.mu.RLock()
		busy := false
		for _, m := range x.models {
			busy = busy || m.building != nil
		}
		x.mu.RUnlock()
		if !busy {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Counts is the number of vectors per model.
func (x *Index) Counts() map[string]int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make(map[string]int, len(x.models))
	for name, m := range x.models {
		if n := m.live(); n > 0 {
			out[name] = n
		}
	}
	return out
}

// Search returns the k nearest chunks whose resource allow accepts: from
// the graph when there is one (falling back to the scan when filtering
// leaves it fewer than k), else by the exact scan.
func (x *Index) Search(model string, vector []float32, allow func(string) bool, k int) []domain.Ranked {
	x.mu.RLock()
	defer x.mu.RUnlock()
	m, ok := x.models[model]
	if !ok || len(vector) != m.dims || k <= 0 {
		return nil
	}
	if m.graph != nil {
		decided := make([]uint8, len(m.resOf))
		accept := func(row int32) bool { return m.alive[row] && decide(decided, m, m.slots[row], allow) }
		found := m.graph.search(vector, max(m.graph.cfg.EfSearch, k), accept)
		if len(found) >= k {
			out := make([]domain.Ranked, k)
			for i, c := range found[:k] {
				out[i] = domain.Ranked{ChunkID: m.ids[c.row], Score: float64(1 - c.dist)}
			}
			return out
		}
	}
	return m.exact(vector, allow, k)
}

// SearchExact always scans; recall checks compare the graph against it.
func (x *Index) SearchExact(model string, vector []float32, allow func(string) bool, k int) []domain.Ranked {
	x.mu.RLock()
	defer x.mu.RUnlock()
	m, ok := x.models[model]
	if !ok || len(vector) != m.dims || k <= 0 {
		return nil
	}
	return m.exact(vector, allow, k)
}

// decide caches allow's answer per resource slot: 0 unknown, 1 yes, 2 no.
func decide(decided []uint8, m *rows, slot int32, allow func(string) bool) bool {
	switch decided[slot] {
	case 1:
		return true
	case 2:
		return false
	}
	if allow(m.resOf[slot]) {
		decided[slot] = 1
		return true
	}
	decided[slot] = 2
	return false
}

// minRowsPerWorker keeps small scans on one goroutine.
const minRowsPerWorker = 4096

// sparseShare is the largest share of non-zero query values for which the
// column scan reads less than the row scan.
const sparseShare = 4

func (m *rows) exact(vector []float32, allow func(string) bool, k int) []domain.Ranked {
	var nz []int
	for j, x := range vector {
		if x != 0 {
			nz = append(nz, j)
		}
	}
	sparse := len(nz)*sparseShare <= m.dims
	n := len(m.ids)
	// Cores, not Ps: a process of several targets runs more Ps than it
	// has cores (ADR 0041), and more workers than cores only take turns.
	workers := min(runtime.NumCPU(), runtime.GOMAXPROCS(0), max(1, n/minRowsPerWorker))
	parts := make([]topK, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sparse {
				parts[w] = m.scanColumns(vector, nz, allow, k, lo, hi)
			} else {
				parts[w] = m.scan(vector, allow, k, lo, hi)
			}
		}()
	}
	wg.Wait()
	all := parts[0]
	for _, p := range parts[1:] {
		for _, h := range p {
			all.offer(h, k)
		}
	}
	return all.sorted(m.ids)
}

// blockSpans calls f for each part of rows lo..hi that lies in one block:
// block b, rows from..to of it.
func blockSpans(lo, hi int, f func(b, from, to int)) {
	for start := lo; start < hi; {
		b := start / blockRows
		end := min(hi, (b+1)*blockRows)
		f(b, start-b*blockRows, end-b*blockRows)
		start = end
	}
}

func (m *rows) scan(vector []float32, allow func(string) bool, k, lo, hi int) topK {
	decided := make([]uint8, len(m.resOf))
	top := make(topK, 0, k)
	dims := m.dims
	blockSpans(lo, hi, func(b, from, to int) {
		block, first := m.blocks[b], b*blockRows
		for i := from; i < to; i++ {
			row := first + i
			if !m.alive[row] || !decide(decided, m, m.slots[row], allow) {
				continue
			}
			top.offer(hit{row: row, score: vek32.Dot(vector, block[i*dims:(i+1)*dims])}, k)
		}
	})
	return top
}

// scanColumns scores rows lo..hi by adding, for each non-zero query
// value, that value times its column (SIMD, addColumns), a block of rows
// at a time.
func (m *rows) scanColumns(vector []float32, nz []int, allow func(string) bool, k, lo, hi int) topK {
	decided := make([]uint8, len(m.resOf))
	top := make(topK, 0, k)
	scores := make([]float32, blockRows)
	tmp := make([]float32, blockRows)
	blockSpans(lo, hi, func(b, from, to int) {
		cols, first := m.colBlocks[b], b*blockRows
		sc, tm := scores[:to-from], tmp[:to-from]
		clear(sc)
		addColumns(sc, tm, cols, nz, vector, from)
		for i, score := range sc {
			row := first + from + i
			if m.alive[row] && decide(decided, m, m.slots[row], allow) {
				top.offer(hit{row: row, score: score}, k)
			}
		}
	})
	return top
}

type hit struct {
	row   int
	score float32
}

// topK is a min-heap of the best hits so far.
type topK []hit

func (t topK) Len() int           { return len(t) }
func (t topK) Less(i, j int) bool { return t[i].score < t[j].score }
func (t topK) Swap(i, j int)      { t[i], t[j] = t[j], t[i] }
func (t *topK) Push(x any)        { *t = append(*t, x.(hit)) }
func (t *topK) Pop() any {
	old := *t
	x := old[len(old)-1]
	*t = old[:len(old)-1]
	return x
}

func (t *topK) offer(h hit, k int) {
	if len(*t) < k {
		heap.Push(t, h)
	} else if h.score > (*t)[0].score {
		(*t)[0] = h
		heap.Fix(t, 0)
	}
}

// sorted empties the heap into a best-first ranking.
func (t *topK) sorted(ids []string) []domain.Ranked {
	out := make([]domain.Ranked, len(*t))
	for i := len(out) - 1; i >= 0; i-- {
		h := heap.Pop(t).(hit)
		out[i] = domain.Ranked{ChunkID: ids[h.row], Score: float64(h.score)}
	}
	return out
}
