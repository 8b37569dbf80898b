// Package vecindex holds the search service's vector ranker. Every model
// keeps its vectors in contiguous float32 rows; a query is answered by an
// exact scan with SIMD dot products (viterin/vek), split across cores, or,
// once a model holds ANNThreshold vectors, by an HNSW graph built over the
// same rows in the background. Vectors are L2-normalised by both
// embedders, so the dot product is the cosine similarity. Models never
// share rows, so their vectors are never compared.
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

// rows is one model's vectors: row i is data[i*dims:(i+1)*dims]. Rows are
// append-only; a removed row is marked dead (so row numbers in the graph
// stay valid) and the rows are compacted when too many are dead. The same
// values are also kept column by column (cols[j][i] is row i's j-th
// value): a query with few non-zero values, such as the built-in
// embedder's for a few words, is scored exactly by reading only those
// columns — a fraction of the memory a row scan reads.
type rows struct {
	dims  int
	data  []float32
	cols  [][]float32
	ids   []string // chunk id per row
	slots []int32  // resource slot per row
	alive []bool
	pos   map[string]int32 // live chunk id → row
	dead  int
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

func (r *rows) vec(row int32) []float32 { return r.data[int(row)*r.dims : int(row+1)*r.dims] }

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
	r.ids = append(r.ids, id)
	r.slots = append(r.slots, r.slot(resourceID))
	r.alive = append(r.alive, true)
	r.data = append(r.data, v...)
	if r.cols == nil {
		r.cols = make([][]float32, r.dims)
	}
	for j, x := range v {
		r.cols[j] = append(r.cols[j], x)
	}
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

// compact drops dead rows into new arrays (a background build may still
// be reading the old ones); the graph is rebuilt afterwards.
//
// The new arrays have room for as many rows again (plus the 1,000 dead
// rows that may wait), which is what they hold when the next compaction
// comes: replaced chunks are added before the old ones count as dead. With
// exact sizes, the first add after a compaction moved every vector, and
// append's quarter steps moved them again and again: a tenth of the CPU
// of indexing uploads.
func (r *rows) compact() {
	n := r.live()
	room := 2*n + compactAfterDead
	data := make([]float32, 0, room*r.dims)
	ids, slots, alive := make([]string, 0, room), make([]int32, 0, room), make([]bool, 0, room)
	for i := range r.ids {
		if !r.alive[i] {
			continue
		}
		r.pos[r.ids[i]] = int32(len(ids))
		data = append(data, r.data[i*r.dims:(i+1)*r.dims]...)
		ids, slots, alive = append(ids, r.ids[i]), append(slots, r.slots[i]), append(alive, true)
	}
	cols := make([][]float32, r.dims)
	for j := range cols {
		cols[j] = make([]float32, 0, room)
		for i, ok := range r.alive {
			if ok {
				cols[j] = append(cols[j], r.cols[j][i])
			}
		}
	}
	r.data, r.cols, r.ids, r.slots, r.alive = data, cols, ids, slots, alive
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
// reads vectors from a snapshot of the rows, which are append-only (rows
// added meanwhile lie beyond the snapshot; compaction makes new arrays and
// ends this build). Only catching up with the last rows and going live
// happen under the write lock.
func (x *Index) build(m *rows, g *hnsw, generation int) {
	next := 0
	for {
		x.mu.RLock()
		if m.generation != generation || m.building != g {
			x.mu.RUnlock()
			return // compacted meanwhile: a new build will start
		}
		data, n, dims := m.data, len(m.ids), m.dims
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
		g.vec = func(row int32) []float32 { return data[int(row)*dims : int(row+1)*dims] }
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

func (m *rows) scan(vector []float32, allow func(string) bool, k, lo, hi int) topK {
	decided := make([]uint8, len(m.resOf))
	top := make(topK, 0, k)
	for i := lo; i < hi; i++ {
		if !m.alive[i] || !decide(decided, m, m.slots[i], allow) {
			continue
		}
		top.offer(hit{row: i, score: vek32.Dot(vector, m.data[i*m.dims:(i+1)*m.dims])}, k)
	}
	return top
}

// columnBlock rows are scored at a time, so the partial scores stay in
// the L1 cache while the query's columns stream past.
const columnBlock = 2048

// scanColumns scores rows lo..hi by adding, for each non-zero query
// value, that value times its column (SIMD), a block of rows at a time.
func (m *rows) scanColumns(vector []float32, nz []int, allow func(string) bool, k, lo, hi int) topK {
	decided := make([]uint8, len(m.resOf))
	top := make(topK, 0, k)
	scores := make([]float32, columnBlock)
	tmp := make([]float32, columnBlock)
	for start := lo; start < hi; start += columnBlock {
		end := min(start+columnBlock, hi)
		sc, tm := scores[:end-start], tmp[:end-start]
		clear(sc)
		for _, j := range nz {
			vek32.MulNumber_Into(tm, m.cols[j][start:end], vector[j])
			vek32.Add_Inplace(sc, tm)
		}
		for i, score := range sc {
			row := start + i
			if m.alive[row] && decide(decided, m, m.slots[row], allow) {
				top.offer(hit{row: row, score: score}, k)
			}
		}
	}
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
