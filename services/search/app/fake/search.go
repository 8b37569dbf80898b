package fake

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// SearchStore is the in-memory app.SearchStore.
type SearchStore struct {
	mu      sync.Mutex
	docs    map[string]domain.Document
	sources map[[2]string]source
	chunks  map[[2]string][]domain.Chunk // (resource, file) → chunks
}

type source struct {
	version int64
	deleted bool
}

var _ app.SearchStore = (*SearchStore)(nil)

// NewSearchStore returns an empty store.
func NewSearchStore() *SearchStore {
	return &SearchStore{docs: map[string]domain.Document{}, sources: map[[2]string]source{}, chunks: map[[2]string][]domain.Chunk{}}
}

func (s *SearchStore) doc(id string) domain.Document {
	d, ok := s.docs[id]
	if !ok {
		d = domain.Document{ResourceID: id, Visibility: domain.Private, Tags: []string{}, Metadata: map[string]string{}, UpdatedAt: time.Now().UTC()}
		s.docs[id] = d
	}
	return d
}

func copyDoc(d domain.Document) domain.Document {
	d.Tags = slices.Clone(d.Tags)
	d.Metadata = maps.Clone(d.Metadata)
	if d.Tags == nil {
		d.Tags = []string{}
	}
	if d.Metadata == nil {
		d.Metadata = map[string]string{}
	}
	return d
}

// PutDocument stores d if newer.
func (s *SearchStore) PutDocument(_ context.Context, d domain.Document) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.doc(d.ResourceID)
	if cur.Deleted || cur.Version >= d.Version {
		return false, nil
	}
	d = copyDoc(d)
	d.Deleted, d.UpdatedAt = false, d.UpdatedAt.UTC()
	s.docs[d.ResourceID] = d
	return true, nil
}

// DeleteDocument tombstones the document.
func (s *SearchStore) DeleteDocument(_ context.Context, resourceID string, version int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.doc(resourceID)
	if cur.Deleted {
		return false, nil
	}
	cur.Deleted, cur.Version = true, max(cur.Version, version)
	s.docs[resourceID] = cur
	for k := range s.chunks {
		if k[0] == resourceID {
			delete(s.chunks, k)
		}
	}
	for k := range s.sources {
		if k[0] == resourceID {
			delete(s.sources, k)
		}
	}
	return true, nil
}

// ReplaceChunks swaps a source's chunks.
func (s *SearchStore) ReplaceChunks(_ context.Context, set domain.ChunkSet) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.doc(set.ResourceID).Deleted {
		return false, nil
	}
	key := [2]string{set.ResourceID, set.FileID}
	if src, ok := s.sources[key]; ok && (src.deleted || src.version > set.Version) {
		return false, nil
	}
	s.sources[key] = source{version: set.Version}
	seen := map[string]bool{}
	var chunks []domain.Chunk
	for _, c := range set.Chunks {
		if seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		c.ResourceID, c.FileID, c.Model, c.Vector = set.ResourceID, set.FileID, set.Model, slices.Clone(c.Vector)
		chunks = append(chunks, c)
	}
	s.chunks[key] = chunks
	return true, nil
}

// DeleteSource removes a file's chunks and tombstones it.
func (s *SearchStore) DeleteSource(_ context.Context, resourceID, fileID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.doc(resourceID)
	key := [2]string{resourceID, fileID}
	if s.sources[key].deleted {
		return false, nil
	}
	s.sources[key] = source{deleted: true}
	delete(s.chunks, key)
	return true, nil
}

// Document returns one document.
func (s *SearchStore) Document(_ context.Context, resourceID string) (domain.Document, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[resourceID]
	if !ok {
		return domain.Document{}, fault.New(fault.NotFound, "document not found")
	}
	return copyDoc(d), nil
}

// Chunks returns a document's chunks, by file then position.
func (s *SearchStore) Chunks(_ context.Context, resourceID string) ([]domain.Chunk, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chunksOf(resourceID), nil
}

func (s *SearchStore) chunksOf(resourceID string) []domain.Chunk {
	var keys [][2]string
	for k := range s.chunks {
		if k[0] == resourceID {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[1], b[1]) })
	out := []domain.Chunk{}
	for _, k := range keys {
		cs := slices.Clone(s.chunks[k])
		slices.SortFunc(cs, func(a, b domain.Chunk) int { return a.Index - b.Index })
		out = append(out, cs...)
	}
	return out
}

// Indexed returns each wanted document and the chunks of the sources
// it names (all when it names none); an unknown id is a deleted document.
func (s *SearchStore) Indexed(_ context.Context, want []domain.Refresh) ([]domain.Indexed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]domain.Indexed, 0, len(want))
	for _, w := range want {
		d, ok := s.docs[w.ResourceID]
		if !ok {
			out = append(out, domain.Indexed{Document: domain.Document{ResourceID: w.ResourceID, Deleted: true}})
			continue
		}
		if d.Deleted {
			out = append(out, domain.Indexed{Document: copyDoc(d)})
			continue
		}
		x := domain.Indexed{Document: copyDoc(d), Chunks: []domain.Chunk{}, Sources: slices.Clone(w.Sources)}
		for _, c := range s.chunksOf(w.ResourceID) {
			if x.Replaces(c.FileID) {
				x.Chunks = append(x.Chunks, c)
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// Documents pages through live documents in id order.
func (s *SearchStore) Documents(_ context.Context, after string, limit int) ([]domain.Document, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Document
	for _, id := range slices.Sorted(maps.Keys(s.docs)) {
		if d := s.docs[id]; id > after && !d.Deleted {
			out = append(out, copyDoc(d))
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// Together runs fn on a copy of the store and keeps the copy's contents
// only when fn returns nil. The store is locked meanwhile, as a
// transaction's rows are.
func (s *SearchStore) Together(_ context.Context, fn func(app.SearchStore) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	draft := &SearchStore{docs: maps.Clone(s.docs), sources: maps.Clone(s.sources), chunks: maps.Clone(s.chunks)}
	if err := fn(draft); err != nil {
		return err
	}
	s.docs, s.sources, s.chunks = draft.docs, draft.sources, draft.chunks
	return nil
}
