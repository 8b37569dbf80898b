// Package vecindex holds the search service's vector rankers: an exact
// scan over contiguous float32 rows with SIMD dot products (viterin/vek),
// split across cores. Vectors are L2-normalised by both embedders, so the
// dot product is the cosine similarity. Each model has its own rows, so
// vectors of different models are never compared.
package vecindex

import (
	"container/heap"
	"runtime"
	"sync"

	"github.com/viterin/vek/vek32"

	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// Flat is the exact-scan ports.VectorIndex.
type Flat struct {
	mu     sync.RWMutex
	models map[string]*rows
	byRes  map[string][]chunkRef // resource id → its chunks
}

var _ ports.VectorIndex = (*Flat)(nil)

type chunkRef struct{ model, id string }

// rows is one model's vectors: row i is data[i*dims:(i+1)*dims].
type rows struct {
	dims  int
	data  []float32
	ids   []string // chunk id per row
	slots []int32  // resource slot per row
	pos   map[string]int
	// Resources are numbered so a search can cache its visibility
	// decisions in a slice instead of a map.
	slotOf map[string]int32
	resOf  []string
}

// NewFlat returns an empty index.
func NewFlat() *Flat {
	return &Flat{models: map[string]*rows{}, byRes: map[string][]chunkRef{}}
}

func (r *rows) slot(resourceID string) int32 {
	s, ok := r.slotOf[resourceID]
	if !ok {
		s = int32(len(r.resOf))
		r.slotOf[resourceID] = s
		r.resOf = append(r.resOf, resourceID)
	}
	return s
}

func (r *rows) add(resourceID, id string, v []float32) {
	if _, dup := r.pos[id]; dup {
		return
	}
	r.pos[id] = len(r.ids)
	r.ids = append(r.ids, id)
	r.slots = append(r.slots, r.slot(resourceID))
	r.data = append(r.data, v...)
}

// remove moves the last row into the removed one's place.
func (r *rows) remove(id string) {
	i, ok := r.pos[id]
	if !ok {
		return
	}
	last := len(r.ids) - 1
	if i != last {
		copy(r.data[i*r.dims:(i+1)*r.dims], r.data[last*r.dims:])
		r.ids[i], r.slots[i] = r.ids[last], r.slots[last]
		r.pos[r.ids[i]] = i
	}
	r.ids, r.slots, r.data = r.ids[:last], r.slots[:last], r.data[:last*r.dims]
	delete(r.pos, id)
}

// Replace sets a resource's chunks.
func (f *Flat) Replace(resourceID string, chunks []domain.Chunk) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.byRes[resourceID] {
		f.models[c.model].remove(c.id)
	}
	refs := make([]chunkRef, 0, len(chunks))
	for _, c := range chunks {
		if len(c.Vector) == 0 {
			continue
		}
		m, ok := f.models[c.Model]
		if !ok {
			m = &rows{dims: len(c.Vector), pos: map[string]int{}, slotOf: map[string]int32{}}
			f.models[c.Model] = m
		}
		if len(c.Vector) != m.dims {
			continue // a model's vectors all have its dimension; the store checked it
		}
		m.add(resourceID, c.ID, c.Vector)
		refs = append(refs, chunkRef{model: c.Model, id: c.ID})
	}
	if len(refs) == 0 {
		delete(f.byRes, resourceID)
	} else {
		f.byRes[resourceID] = refs
	}
}

// Counts is the number of vectors per model.
func (f *Flat) Counts() map[string]int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[string]int, len(f.models))
	for m, r := range f.models {
		if len(r.ids) > 0 {
			out[m] = len(r.ids)
		}
	}
	return out
}

// minRowsPerWorker keeps small scans on one goroutine.
const minRowsPerWorker = 4096

// Search scans every row of model, in parallel, keeping the k best that
// allow accepts.
func (f *Flat) Search(model string, vector []float32, allow func(string) bool, k int) []domain.Ranked {
	f.mu.RLock()
	defer f.mu.RUnlock()
	r, ok := f.models[model]
	if !ok || len(vector) != r.dims || k <= 0 {
		return nil
	}
	n := len(r.ids)
	workers := min(runtime.GOMAXPROCS(0), max(1, n/minRowsPerWorker))
	parts := make([]topK, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[w] = r.scan(vector, allow, k, lo, hi)
		}()
	}
	wg.Wait()
	all := parts[0]
	for _, p := range parts[1:] {
		for _, h := range p {
			all.offer(h, k)
		}
	}
	return all.sorted(r.ids)
}

// decision caches allow's answer per resource slot: 0 unknown, 1 yes, 2 no.
func (r *rows) scan(vector []float32, allow func(string) bool, k, lo, hi int) topK {
	decided := make([]uint8, len(r.resOf))
	top := make(topK, 0, k)
	for i := lo; i < hi; i++ {
		s := r.slots[i]
		switch decided[s] {
		case 0:
			if allow(r.resOf[s]) {
				decided[s] = 1
			} else {
				decided[s] = 2
				continue
			}
		case 2:
			continue
		}
		score := vek32.Dot(vector, r.data[i*r.dims:(i+1)*r.dims])
		top.offer(hit{row: i, score: score}, k)
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
