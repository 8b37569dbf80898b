// Package app holds the search service's use cases: applying resource and
// chunk events to the store and the in-process indexes, answering
// searches with visibility enforced in the core, and rebuilding the
// indexes from the store. It depends only on the domain and pkg/ports.
package app

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// Deps are the adapters the use cases need.
type Deps struct {
	Store    SearchStore
	Text     TextIndex
	Vectors  VectorIndex
	Embedder ports.Embedder // embeds queries; the same model processing uses
	Clock    ports.Clock
	// Audit records admin actions (rebuilds) before they start.
	Audit ports.AuditTrail
}

// Options tune searching; zero values take the defaults.
type Options struct {
	// Window is how many candidates each ranker contributes to the fused
	// ranking (default 200); results page no deeper than this.
	Window int
}

// Service runs the search use cases. It keeps the documents and chunk
// texts in memory beside the indexes, to decide visibility and to build
// hits without a store round trip.
type Service struct {
	deps Deps
	opts Options

	mu     sync.RWMutex
	docs   map[string]domain.Document
	chunks map[string]chunkInfo
	byRes  map[string][]string // resource id → chunk ids

	// refreshing serialises refreshes of one resource, so an event and a
	// rebuild never interleave their reads and index writes.
	refreshing keyedMutex

	lastMu    sync.Mutex
	lastEvent EventInfo

	rebuildMu sync.Mutex
	rebuild   Rebuild
}

type chunkInfo struct {
	ResourceID string
	FileID     string
	Text       string
}

// New returns a Service with empty indexes; Rebuild fills them.
func New(deps Deps, opts Options) *Service {
	if opts.Window <= 0 {
		opts.Window = 200
	}
	if deps.Clock == nil {
		deps.Clock = ports.SystemClock{}
	}
	return &Service{deps: deps, opts: opts, docs: map[string]domain.Document{}, chunks: map[string]chunkInfo{},
		byRes: map[string][]string{}, refreshing: keyedMutex{locks: map[string]*keyLock{}}}
}

// EventInfo describes the last event applied.
type EventInfo struct {
	ID        string
	Type      string
	AppliedAt time.Time
}

func (s *Service) applied(id, typ string) {
	s.lastMu.Lock()
	s.lastEvent = EventInfo{ID: id, Type: typ, AppliedAt: s.deps.Clock.Now()}
	s.lastMu.Unlock()
}

// A Change is what one event asks of the search store; Apply makes it
// and brings the indexes in line. DocumentPut, DocumentDeleted,
// ChunksReady and FileDeleted make them.
type Change struct {
	eventID    string
	typ        string // for EventInfo
	resourceID string
	// source is the one source (file id, "" the body) whose chunks the
	// change may alter, when whole is false; a document's change alters
	// every chunk's copy of its fields in the text index.
	source string
	whole  bool
	store  func(context.Context, SearchStore) error
}

// DocumentPut is a resource.created or resource.updated event's change.
func DocumentPut(eventID string, d domain.Document) Change {
	return Change{eventID: eventID, typ: "resource", resourceID: d.ResourceID, whole: true, store: func(ctx context.Context, st SearchStore) error {
		_, err := st.PutDocument(ctx, d)
		return err
	}}
}

// DocumentDeleted is a resource.deleted event's change: everything of the
// resource leaves the indexes.
func DocumentDeleted(eventID, resourceID string, version int64) Change {
	return Change{eventID: eventID, typ: "resource.deleted", resourceID: resourceID, whole: true, store: func(ctx context.Context, st SearchStore) error {
		_, err := st.DeleteDocument(ctx, resourceID, version)
		return err
	}}
}

// ChunksReady is a chunks.ready event's change.
func ChunksReady(eventID string, set domain.ChunkSet) Change {
	return Change{eventID: eventID, typ: "chunks.ready", resourceID: set.ResourceID, source: set.FileID, store: func(ctx context.Context, st SearchStore) error {
		for _, c := range set.Chunks {
			if len(c.Vector) != set.Dimensions {
				return fault.New(fault.Invalid, "a chunk's vector does not have the set's dimension")
			}
		}
		_, err := st.ReplaceChunks(ctx, set)
		return err
	}}
}

// FileDeleted is a file.deleted event's change.
func FileDeleted(eventID, resourceID, fileID string) Change {
	return Change{eventID: eventID, typ: "file.deleted", resourceID: resourceID, source: fileID, store: func(ctx context.Context, st SearchStore) error {
		_, err := st.DeleteSource(ctx, resourceID, fileID)
		return err
	}}
}

// Apply makes the changes in the store, in order and in one transaction,
// then re-reads what they touched into the indexes, with one full-text
// batch for all of them: a backlog of events costs one transaction and
// one batch, not one of each per event. What they touched is a resource's
// document and all its chunks when its document changed, else only the
// sources (files) whose chunks changed: the chunks of a resource's other
// files stay as indexed, so its hundredth file costs what its first did.
// errs[i] is change i's outcome. A change the store refused fails alone;
// a failure to update the indexes fails every change that reached the
// store, and redelivering those changes is safe, since the store ignores
// what it already holds. The indexes are updated even for a change the
// store ignored (a redelivery): the earlier delivery may have committed
// and then failed before reaching them.
func (s *Service) Apply(ctx context.Context, changes []Change) (errs []error) {
	errs = s.store(ctx, changes)
	var touched []domain.Refresh
	at := make(map[string]int, len(changes)) // resource id → its place in touched
	for i, c := range changes {
		if errs[i] != nil {
			continue
		}
		j, ok := at[c.resourceID]
		if !ok {
			j, at[c.resourceID] = len(touched), len(touched)
			touched = append(touched, domain.Refresh{ResourceID: c.resourceID, Sources: []string{}})
		}
		switch r := &touched[j]; {
		case c.whole:
			r.Sources = nil
		case r.Sources != nil && !slices.Contains(r.Sources, c.source):
			r.Sources = append(r.Sources, c.source)
		}
	}
	if len(touched) == 0 {
		return errs
	}
	if err := s.refreshMany(ctx, touched); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	for i := len(changes) - 1; i >= 0; i-- {
		if errs[i] == nil {
			s.applied(changes[i].eventID, changes[i].typ)
			break
		}
	}
	return errs
}

// store makes changes in the store: all in one transaction, and when one
// of them fails there, each in its own, so that it fails alone.
func (s *Service) store(ctx context.Context, changes []Change) []error {
	errs := make([]error, len(changes))
	if len(changes) > 1 {
		err := s.deps.Store.Together(ctx, func(st SearchStore) error {
			for _, c := range changes {
				if err := c.store(ctx, st); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			return errs
		}
	}
	for i, c := range changes {
		errs[i] = c.store(ctx, s.deps.Store)
	}
	return errs
}

// PutDocument applies a resource.created or resource.updated event.
func (s *Service) PutDocument(ctx context.Context, eventID string, d domain.Document) error {
	return s.Apply(ctx, []Change{DocumentPut(eventID, d)})[0]
}

// DeleteDocument applies a resource.deleted event.
func (s *Service) DeleteDocument(ctx context.Context, eventID, resourceID string, version int64) error {
	return s.Apply(ctx, []Change{DocumentDeleted(eventID, resourceID, version)})[0]
}

// PutChunks applies a chunks.ready event.
func (s *Service) PutChunks(ctx context.Context, eventID string, set domain.ChunkSet) error {
	return s.Apply(ctx, []Change{ChunksReady(eventID, set)})[0]
}

// DeleteFile applies a file.deleted event.
func (s *Service) DeleteFile(ctx context.Context, eventID, resourceID, fileID string) error {
	return s.Apply(ctx, []Change{FileDeleted(eventID, resourceID, fileID)})[0]
}

// refreshMany re-reads resources, or some of their sources, from the
// store into every index, with one full-text batch for all of them. It
// locks the resources in id order, so two refreshes never wait on each
// other in a cycle.
func (s *Service) refreshMany(ctx context.Context, want []domain.Refresh) error {
	want = slices.SortedFunc(slices.Values(want), func(a, b domain.Refresh) int { return strings.Compare(a.ResourceID, b.ResourceID) })
	for _, r := range want {
		unlock := s.refreshing.lock(r.ResourceID)
		defer unlock()
	}
	docs, err := s.deps.Store.Indexed(ctx, want)
	if err != nil {
		return err
	}
	for _, d := range docs {
		s.install(d)
	}
	return s.deps.Text.Replace(ctx, docs)
}

// wholly is the refresh of every source of each of ids.
func wholly(ids []string) []domain.Refresh {
	out := make([]domain.Refresh, len(ids))
	for i, id := range ids {
		out[i] = domain.Refresh{ResourceID: id}
	}
	return out
}

// install puts a document and its chunks into memory and the vector
// index; the caller updates the text index. The document map changes
// first: every hit is checked against it, so a document that becomes
// hidden is hidden at once, whatever the indexes still hold.
func (s *Service) install(in domain.Indexed) {
	doc := in.Document
	s.mu.Lock()
	if doc.Deleted {
		delete(s.docs, doc.ResourceID)
	} else {
		s.docs[doc.ResourceID] = doc
	}
	old := s.byRes[doc.ResourceID]
	ids := make([]string, 0, len(old)+len(in.Chunks))
	for _, id := range old {
		if in.Replaces(s.chunks[id].FileID) {
			delete(s.chunks, id)
		} else {
			ids = append(ids, id)
		}
	}
	for _, c := range in.Chunks {
		s.chunks[c.ID] = chunkInfo{ResourceID: c.ResourceID, FileID: c.FileID, Text: c.Text}
		ids = append(ids, c.ID)
	}
	if len(ids) == 0 {
		delete(s.byRes, doc.ResourceID)
	} else {
		s.byRes[doc.ResourceID] = ids
	}
	s.mu.Unlock()
	s.deps.Vectors.Replace(in)
}

// Hit is one search result.
type Hit struct {
	ChunkID    string
	ResourceID string
	FileID     string
	Version    int64
	Title      string
	Score      float64
	TextRank   int
	VectorRank int
	Highlights []string
	Excerpt    string
}

// Result is a page of hits; NextOffset is 0 on the last page.
type Result struct {
	Hits       []Hit
	NextOffset int
	Model      string
}

// excerptRunes bounds a hit's excerpt.
const excerptRunes = 300

// Search answers a query for c. Both rankers see only what c may read:
// the text index through its query, the vector index through the allow
// function, so nothing hidden is ranked, counted or paged.
func (s *Service) Search(ctx context.Context, c domain.Caller, q domain.Query) (Result, error) {
	if err := c.MaySearch(); err != nil {
		return Result{}, err
	}
	if err := q.Validate(); err != nil {
		return Result{}, err
	}
	if q.Offset+q.Limit > s.opts.Window {
		return Result{}, fault.InvalidField("cursor", "results can be paged only as deep as the candidate window")
	}
	allow := func(resourceID string) bool {
		s.mu.RLock()
		d, ok := s.docs[resourceID]
		s.mu.RUnlock()
		return ok && c.CanRead(d) && q.Filters.Matches(d)
	}
	// The two rankers run side by side: hybrid costs the slower of them,
	// not their sum.
	var text, vector []domain.Ranked
	var textErr, vecErr error
	var wg sync.WaitGroup
	if q.Mode != domain.ModeVector {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text, textErr = s.deps.Text.Search(ctx, c, q.Text, q.Filters, s.opts.Window)
		}()
	}
	if q.Mode != domain.ModeText {
		vecs, err := s.deps.Embedder.Embed(ctx, []string{q.Text})
		if err == nil {
			vector = s.deps.Vectors.Search(s.deps.Embedder.Model(), vecs[0], allow, s.opts.Window)
		}
		vecErr = err
	}
	wg.Wait()
	if err := errors.Join(textErr, vecErr); err != nil {
		return Result{}, err
	}
	weight := q.Weight
	switch q.Mode {
	case domain.ModeText:
		weight = 1
	case domain.ModeVector:
		weight = 0
	}
	fused := domain.Fuse(text, vector, weight)
	res := Result{Model: s.deps.Embedder.Model()}
	if q.Offset >= len(fused) {
		return res, nil
	}
	page := fused[q.Offset:min(q.Offset+q.Limit, len(fused))]
	if q.Offset+q.Limit < len(fused) {
		res.NextOffset = q.Offset + q.Limit
	}
	ids := make([]string, len(page))
	for i, f := range page {
		ids[i] = f.ChunkID
	}
	var marks map[string][]string
	if q.Mode != domain.ModeVector {
		var err error
		if marks, err = s.deps.Text.Highlights(ctx, q.Text, ids); err != nil {
			return Result{}, err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, f := range page {
		info, ok := s.chunks[f.ChunkID]
		doc, dok := s.docs[info.ResourceID]
		if !ok || !dok || !c.CanRead(doc) || !q.Filters.Matches(doc) {
			continue // changed since it was ranked
		}
		res.Hits = append(res.Hits, Hit{ChunkID: f.ChunkID, ResourceID: info.ResourceID, FileID: info.FileID,
			Version: doc.Version, Title: doc.Title, Score: f.Score, TextRank: f.TextRank, VectorRank: f.VectorRank,
			Highlights: marks[f.ChunkID], Excerpt: excerpt(info.Text)})
	}
	return res, nil
}

func excerpt(s string) string {
	if utf8.RuneCountInString(s) <= excerptRunes {
		return s
	}
	n := 0
	for i := range s {
		if n == excerptRunes {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// keyedMutex is a mutex per key, removed when unused.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	l, ok := k.locks[key]
	if !ok {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
