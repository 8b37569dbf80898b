package app_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/bleveindex"
	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
	"github.com/lattice-platform/lattice/pkg/adapters/vecindex"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/app/fake"
	"github.com/lattice-platform/lattice/services/search/domain"
)

func newService(t *testing.T) (*app.Service, *fake.SearchStore) {
	t.Helper()
	store := fake.NewSearchStore()
	return serviceOver(store, mustText(t)), store
}

// serviceOver is a service over store and text, with the in-process vector
// index and the built-in embedder.
func serviceOver(store app.SearchStore, text app.TextIndex) *app.Service {
	return app.New(app.Deps{Store: store, Text: text, Vectors: vecindex.NewFlat(), Embedder: hashembed.Embedder{}, Audit: &portstest.AuditTrail{}}, app.Options{})
}

// withHistory is a new service with history() applied, one event at a time.
func withHistory(t *testing.T) (*app.Service, *fake.SearchStore) {
	t.Helper()
	s, store := newService(t)
	for _, e := range history() {
		require.NoError(t, e.on(context.Background(), s))
	}
	return s, store
}

// event is one thing the consumer applies.
type event func() app.Change

// on applies e alone, as a consumer applies a lone event.
func (e event) on(ctx context.Context, s *app.Service) error {
	return s.Apply(ctx, []app.Change{e()})[0]
}

var at = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func put(id, owner, vis string, version int64, tags ...string) event {
	return func() app.Change {
		return app.DocumentPut(fmt.Sprintf("e-put-%s-%d", id, version), domain.Document{ResourceID: id, OwnerID: owner,
			Title: "Doc " + id, Visibility: vis, Tags: tags, Metadata: map[string]string{"v": fmt.Sprint(version)},
			Version: version, UpdatedAt: at.Add(time.Duration(version) * time.Hour)})
	}
}

func chunks(id, file string, version int64, texts ...string) event {
	return func() app.Change {
		vecs, err := hashembed.Embedder{}.Embed(context.Background(), texts)
		if err != nil {
			panic(err) // the built-in embedder fails only on its own bounds
		}
		set := domain.ChunkSet{ResourceID: id, FileID: file, Version: version, Model: hashembed.Model, Dimensions: hashembed.Dimensions}
		for i, tx := range texts {
			set.Chunks = append(set.Chunks, domain.Chunk{ID: fmt.Sprintf("%s/%s/%d/%s", id, file, version, tx[:4]), Index: i, Text: tx, Vector: vecs[i]})
		}
		return app.ChunksReady(fmt.Sprintf("e-chunks-%s-%s-%d", id, file, version), set)
	}
}

func del(id string, version int64) event {
	return func() app.Change { return app.DocumentDeleted("e-del-"+id, id, version) }
}

func delFile(id, file string) event {
	return func() app.Change { return app.FileDeleted("e-delfile-"+id+file, id, file) }
}

// history exercises every event kind, with stale versions arriving late.
func history() []event {
	return []event{
		put("r1", "alice", domain.Private, 1, "notes"),
		chunks("r1", "", 1, "Kestrels hover above the motorway verge."),
		chunks("r1", "f1", 0, "The kestrel file talks about falcons and voles."),
		put("r2", "bob", domain.Internal, 1),
		chunks("r2", "", 1, "Bob writes about kestrels and buzzards."),
		put("r3", "alice", domain.Public, 1),
		chunks("r3", "", 2, "Public notes on kestrel migration."),
		put("r3", "alice", domain.Public, 2),
		chunks("r3", "", 1, "A stale body that must never show."),
		put("r4", "carol", domain.Public, 1),
		chunks("r4", "", 1, "Carol's kestrel photographs."),
		del("r4", 2),
		chunks("r4", "f9", 0, "A late kestrel file of a deleted resource."),
		put("r5", "alice", domain.Private, 1),
		chunks("r5", "f2", 0, "Kestrel nesting boxes."),
		delFile("r5", "f2"),
		chunks("r5", "f2", 0, "Kestrel nesting boxes."),
		chunks("r6", "", 1, "Kestrel chunks whose resource event has not arrived."),
		put("r1", "alice", domain.Private, 2, "notes", "birds"),
	}
}

var callers = map[string]domain.Caller{
	"anonymous": {},
	"alice":     {Subject: "alice", Scopes: []string{domain.ScopeSearchRead, domain.ScopeResourcesRead}},
	"bob":       {Subject: "bob", Scopes: []string{domain.ScopeSearchRead, domain.ScopeResourcesRead}},
	"noscope":   {Subject: "alice", Scopes: []string{domain.ScopeSearchRead}}, // may search, but not read beyond public
	"admin":     {Subject: "root", Scopes: []string{domain.ScopeSearchRead, domain.ScopeResourcesAdmin}},
}

// snapshot is everything a caller can observe through search: each
// caller's hits (sorted, since BM25 statistics count deleted entries until
// bleve merges segments, so close scores may order differently) and the
// index counts.
func snapshot(t *testing.T, s *app.Service) string {
	t.Helper()
	var lines []string
	for _, name := range slices.Sorted(mapsKeys(callers)) {
		for _, mode := range []domain.Mode{domain.ModeText, domain.ModeVector, domain.ModeHybrid} {
			res, err := s.Search(context.Background(), callers[name], domain.Query{Text: "kestrel", Mode: mode, Weight: 0.5, Limit: 50})
			require.NoError(t, err)
			for _, h := range res.Hits {
				lines = append(lines, fmt.Sprintf("%s %s %s/%s v%d %s %q", name, mode, h.ResourceID, h.FileID, h.Version, h.ChunkID, h.Highlights))
			}
		}
	}
	slices.Sort(lines)
	st, err := s.IndexStats(callers["admin"])
	require.NoError(t, err)
	lines = append(lines, fmt.Sprintf("docs=%d chunks=%d vectors=%v", st.Documents, st.Chunks, st.VectorsByModel))
	return strings.Join(lines, "\n") + "\n"
}

func mapsKeys(m map[string]domain.Caller) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestRedeliveredEventsLeaveTheSameIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	once, _ := withHistory(t)
	twice, _ := newService(t)
	for _, e := range history() { // every event delivered twice in a row
		require.NoError(t, e.on(ctx, twice))
		require.NoError(t, e.on(ctx, twice))
	}
	for _, e := range history() { // and the whole stream redelivered
		require.NoError(t, e.on(ctx, twice))
	}
	want := snapshot(t, once)
	require.Equal(t, want, snapshot(t, twice))
	require.NotContains(t, want, "r4", "the deleted resource is gone")
	require.NotContains(t, want, "r5/f2", "the deleted file is gone")
	require.NotContains(t, want, "stale")

	// A rebuild from the store yields the same index too.
	_, store := withHistory(t)
	fresh := serviceOver(store, mustText(t))
	require.NoError(t, fresh.Load(ctx))
	require.Equal(t, stripStats(want), stripStats(snapshot(t, fresh)))
}

// A backlog applied in groups, as the consumer hands it over, leaves the
// index that the events one at a time leave, whatever the grouping: the
// same resource several times in one group, a create and its deletion
// together, chunks before their resource.
func TestEventsAppliedInGroupsLeaveTheSameIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	one, _ := withHistory(t)
	want := snapshot(t, one)
	for _, size := range []int{2, 5, len(history())} {
		grouped, _ := newService(t)
		events := history()
		for start := 0; start < len(events); start += size {
			var group []app.Change
			for _, e := range events[start:min(start+size, len(events))] {
				group = append(group, e())
			}
			for i, err := range grouped.Apply(ctx, group) {
				require.NoError(t, err, "group at %d, change %d", start, i)
			}
		}
		require.Equal(t, want, snapshot(t, grouped), "groups of %d", size)
	}
}

// A change the store refuses fails alone, though the group shares a
// transaction; the rest of its group is applied and searchable.
func TestAChangeTheStoreRefusesFailsAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := serviceOver(&refusing{SearchStore: fake.NewSearchStore(), resource: "r2"}, mustText(t))
	errs := s.Apply(ctx, []app.Change{put("r1", "alice", domain.Public, 1)(), put("r2", "bob", domain.Public, 1)(),
		chunks("r1", "", 1, "Kestrels over the verge.")(), chunks("r2", "", 1, "Kestrels over the car park.")()})
	require.NoError(t, errs[0])
	require.ErrorIs(t, errs[1], errRefused)
	require.NoError(t, errs[2])
	require.ErrorIs(t, errs[3], errRefused)
	res, err := s.Search(ctx, callers["anonymous"], domain.Query{Text: "kestrels", Mode: domain.ModeText, Limit: 10})
	require.NoError(t, err)
	require.Len(t, res.Hits, 1)
	require.Equal(t, "r1", res.Hits[0].ResourceID)
	st, err := s.IndexStats(callers["admin"])
	require.NoError(t, err)
	require.Equal(t, "e-chunks-r1--1", st.LastEvent.ID, "the last change applied, not the last refused")
}

// A group's changes share one store transaction, and the indexes re-read
// what it touched in one read; a lone change runs in its own, as before.
func TestAGroupIsOneTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &counting{SearchStore: fake.NewSearchStore()}
	s := serviceOver(store, mustText(t))
	for _, err := range s.Apply(ctx, []app.Change{put("r1", "alice", domain.Public, 1)(), chunks("r1", "", 1, "Kestrels.")(),
		put("r2", "bob", domain.Public, 1)(), del("r2", 2)()}) {
		require.NoError(t, err)
	}
	require.Equal(t, 1, store.together)
	require.Zero(t, store.alone, "no change of the group ran outside its transaction")
	require.Equal(t, [][]domain.Refresh{{{ResourceID: "r1"}, {ResourceID: "r2"}}}, store.reads,
		"the two resources the group touched, whole since their documents changed, in one read")
	require.Zero(t, store.readsOfOne, "nothing read one resource at a time")
	require.NoError(t, put("r3", "carol", domain.Public, 1).on(ctx, s))
	require.Equal(t, 1, store.together)
	require.Equal(t, 1, store.alone)
	require.Equal(t, []domain.Refresh{{ResourceID: "r3"}}, store.reads[1])
}

// A resource's new file is read and indexed alone: the chunks of its
// other files stay as they were indexed, and stay found. A file's
// deletion takes its chunks only; a change of the document re-reads
// everything, since every chunk carries the document's fields.
func TestAFileIsIndexedWithoutTheResourcesOtherFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &counting{SearchStore: fake.NewSearchStore()}
	s := serviceOver(store, mustText(t))
	found := func(text string, f domain.Filters) []string {
		t.Helper()
		res, err := s.Search(ctx, callers["anonymous"], domain.Query{Text: text, Mode: domain.ModeText, Filters: f, Limit: 10})
		require.NoError(t, err)
		var out []string
		for _, h := range res.Hits {
			out = append(out, h.FileID)
		}
		return out
	}
	counts := func() (chunks uint64, vectors int) {
		t.Helper()
		st, err := s.IndexStats(callers["admin"])
		require.NoError(t, err)
		return st.Chunks, st.VectorsByModel[hashembed.Model]
	}
	const f1, f2 = "00000000-0000-7000-8000-0000000000f1", "00000000-0000-7000-8000-0000000000f2"
	for _, e := range []event{put("r1", "alice", domain.Public, 1, "birds"), chunks("r1", "", 1, "Kestrels hover."),
		chunks("r1", f1, 1, "Merlins dash."), chunks("r1", f2, 1, "Hobbies stoop.")} {
		require.NoError(t, e.on(ctx, s))
	}
	require.Equal(t, []domain.Refresh{{ResourceID: "r1", Sources: []string{f1}}}, store.reads[2])
	require.Equal(t, []domain.Refresh{{ResourceID: "r1", Sources: []string{f2}}}, store.reads[3], "the second file alone")
	require.Equal(t, []string{f1}, found("merlins", domain.Filters{Tags: []string{"birds"}}),
		"the first file's chunks are still indexed, with the document's fields")
	require.Equal(t, []string{f2}, found("hobbies", domain.Filters{}))
	chunkCount, vectorCount := counts()
	require.EqualValues(t, 3, chunkCount)
	require.Equal(t, 3, vectorCount)

	for _, err := range s.Apply(ctx, []app.Change{chunks("r1", f2, 2, "Hobbies catch dragonflies.")(), delFile("r1", f1)(),
		chunks("r1", f2, 3, "Hobbies catch swifts.")()}) {
		require.NoError(t, err)
	}
	require.Equal(t, []domain.Refresh{{ResourceID: "r1", Sources: []string{f2, f1}}}, store.reads[4], "each source once")
	require.Empty(t, found("merlins", domain.Filters{}), "the deleted file's chunks are gone")
	require.Equal(t, []string{f2}, found("swifts", domain.Filters{}))
	require.Empty(t, found("dragonflies", domain.Filters{}), "the file's earlier chunks are replaced")
	require.Equal(t, []string{""}, found("kestrels", domain.Filters{}), "the body is untouched")
	chunkCount, vectorCount = counts()
	require.EqualValues(t, 2, chunkCount, "the body's chunk and the second file's")
	require.Equal(t, 2, vectorCount)

	require.NoError(t, put("r1", "alice", domain.Public, 2, "raptors").on(ctx, s))
	require.Equal(t, []domain.Refresh{{ResourceID: "r1"}}, store.reads[5], "a document's change re-reads it whole")
	require.Equal(t, []string{f2}, found("swifts", domain.Filters{Tags: []string{"raptors"}}),
		"the file's chunks carry the document's new tags")
	require.Empty(t, found("swifts", domain.Filters{Tags: []string{"birds"}}))
}

// counting counts transactions of many changes and changes made alone,
// and records the reads of the indexes' contents.
type counting struct {
	app.SearchStore
	together, alone int
	reads           [][]domain.Refresh // what each Indexed call wanted
	readsOfOne      int                // Document and Chunks calls
}

func (c *counting) Indexed(ctx context.Context, want []domain.Refresh) ([]domain.Indexed, error) {
	c.reads = append(c.reads, slices.Clone(want))
	return c.SearchStore.Indexed(ctx, want)
}

func (c *counting) Document(ctx context.Context, id string) (domain.Document, error) {
	c.readsOfOne++
	return c.SearchStore.Document(ctx, id)
}

func (c *counting) Chunks(ctx context.Context, id string) ([]domain.Chunk, error) {
	c.readsOfOne++
	return c.SearchStore.Chunks(ctx, id)
}

func (c *counting) Together(ctx context.Context, fn func(app.SearchStore) error) error {
	c.together++
	return c.SearchStore.Together(ctx, fn)
}

func (c *counting) PutDocument(ctx context.Context, d domain.Document) (bool, error) {
	c.alone++
	return c.SearchStore.PutDocument(ctx, d)
}

func (c *counting) ReplaceChunks(ctx context.Context, set domain.ChunkSet) (bool, error) {
	c.alone++
	return c.SearchStore.ReplaceChunks(ctx, set)
}

func (c *counting) DeleteDocument(ctx context.Context, id string, version int64) (bool, error) {
	c.alone++
	return c.SearchStore.DeleteDocument(ctx, id, version)
}

// When the indexes cannot be updated, every change that reached the store
// fails, so the consumer redelivers them; the redelivery then applies.
func TestAnIndexFailureFailsTheWholeGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	text := &failingText{TextIndex: mustText(t)}
	text.fail.Store(true)
	s := serviceOver(fake.NewSearchStore(), text)
	group := func() []app.Change {
		return []app.Change{put("r1", "alice", domain.Public, 1)(), chunks("r1", "", 1, "Kestrels over the verge.")(),
			chunks("r1", "", 1, "Kestrels over the verge.")()}
	}
	for _, err := range s.Apply(ctx, group()) {
		require.ErrorIs(t, err, errIndexDown)
	}
	text.fail.Store(false)
	for _, err := range s.Apply(ctx, group()) {
		require.NoError(t, err)
	}
	res, err := s.Search(ctx, callers["anonymous"], domain.Query{Text: "kestrels", Mode: domain.ModeText, Limit: 10})
	require.NoError(t, err)
	require.Len(t, res.Hits, 1, "applied once, though delivered twice")
}

var (
	errRefused   = errors.New("refused")
	errIndexDown = errors.New("the index is down")
)

// refusing is a store that refuses every change to one resource.
type refusing struct {
	app.SearchStore
	resource string
}

func (r *refusing) Together(ctx context.Context, fn func(app.SearchStore) error) error {
	return r.SearchStore.Together(ctx, func(st app.SearchStore) error { return fn(&refusing{SearchStore: st, resource: r.resource}) })
}

func (r *refusing) PutDocument(ctx context.Context, d domain.Document) (bool, error) {
	if d.ResourceID == r.resource {
		return false, errRefused
	}
	return r.SearchStore.PutDocument(ctx, d)
}

func (r *refusing) ReplaceChunks(ctx context.Context, set domain.ChunkSet) (bool, error) {
	if set.ResourceID == r.resource {
		return false, errRefused
	}
	return r.SearchStore.ReplaceChunks(ctx, set)
}

// failingText is a text index whose updates fail while fail is set.
type failingText struct {
	app.TextIndex
	fail atomic.Bool
}

func (f *failingText) Replace(ctx context.Context, docs []domain.Indexed) error {
	if f.fail.Load() {
		return errIndexDown
	}
	return f.TextIndex.Replace(ctx, docs)
}

func mustText(t testing.TB) *bleveindex.Index {
	text, err := bleveindex.New(t.TempDir()+"/idx", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = text.Close() })
	return text
}

// stripStats drops the last line: a freshly loaded service keeps no
// placeholder-only documents' history, but its hits must match.
func stripStats(s string) string { return s[:strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n")+1] }

func TestVisibilityMatrix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := withHistory(t)
	want := map[string][]string{
		"anonymous": {"r3"},
		"noscope":   {"r3"},
		"alice":     {"r1", "r2", "r3"},
		"bob":       {"r2", "r3"},
		"admin":     {"r1", "r2", "r3", "r6"},
	}
	for name, c := range callers {
		for _, mode := range []domain.Mode{domain.ModeText, domain.ModeVector, domain.ModeHybrid} {
			all, err := s.Search(ctx, c, domain.Query{Text: "kestrel", Mode: mode, Weight: 0.5, Limit: 50})
			require.NoError(t, err)
			var seen []string
			for _, h := range all.Hits {
				if !slices.Contains(seen, h.ResourceID) {
					seen = append(seen, h.ResourceID)
				}
			}
			slices.Sort(seen)
			require.Equal(t, want[name], seen, "%s in %s mode", name, mode)

			// Page one hit at a time: hidden chunks are neither paged nor
			// counted, so there are exactly as many pages as hits. (Which
			// hit lands on which page may shift while bleve merges
			// segments, as BM25 statistics change.)
			pages := 0
			for offset := 0; ; pages++ {
				res, err := s.Search(ctx, c, domain.Query{Text: "kestrel", Mode: mode, Weight: 0.5, Limit: 1, Offset: offset})
				require.NoError(t, err)
				for _, h := range res.Hits {
					require.Contains(t, want[name], h.ResourceID, "%s %s page %d", name, mode, pages)
				}
				if res.NextOffset == 0 {
					pages++
					break
				}
				offset = res.NextOffset
			}
			require.Equal(t, len(all.Hits), pages, "%s %s", name, mode)
		}
	}

	// Visibility changes take effect at once.
	require.NoError(t, put("r1", "alice", domain.Public, 3).on(ctx, s))
	res, err := s.Search(ctx, callers["anonymous"], domain.Query{Text: "kestrels hover", Mode: domain.ModeText, Limit: 10})
	require.NoError(t, err)
	require.NotEmpty(t, res.Hits)
	require.Equal(t, "r1", res.Hits[0].ResourceID)
	require.NoError(t, put("r1", "alice", domain.Private, 4).on(ctx, s))
	for _, mode := range []domain.Mode{domain.ModeText, domain.ModeVector, domain.ModeHybrid} {
		res, err := s.Search(ctx, callers["bob"], domain.Query{Text: "kestrels hover", Mode: mode, Weight: 0.5, Limit: 50})
		require.NoError(t, err)
		for _, h := range res.Hits {
			require.NotEqual(t, "r1", h.ResourceID, "mode %s", mode)
		}
	}
}

func TestFiltersAndHighlights(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := withHistory(t)
	admin := callers["admin"]
	search := func(f domain.Filters) []string {
		res, err := s.Search(ctx, admin, domain.Query{Text: "kestrel", Mode: domain.ModeHybrid, Weight: 0.5, Limit: 50, Filters: f})
		require.NoError(t, err)
		var ids []string
		for _, h := range res.Hits {
			if !slices.Contains(ids, h.ResourceID) {
				ids = append(ids, h.ResourceID)
			}
		}
		slices.Sort(ids)
		return ids
	}
	require.Equal(t, []string{"r1", "r3"}, search(domain.Filters{Owner: "alice"}))
	require.Equal(t, []string{"r1"}, search(domain.Filters{Tags: []string{"birds"}}))
	require.Equal(t, []string{"r2"}, search(domain.Filters{Metadata: map[string]string{"v": "1"}}))
	require.Equal(t, []string{"r2", "r3"}, search(domain.Filters{ResourceIDs: []string{"r2", "r3"}}))
	require.Equal(t, []string{"r1", "r3", "r6"}, search(domain.Filters{UpdatedSince: at.Add(2 * time.Hour)}), "r6 is a placeholder stamped when its chunks arrived")

	res, err := s.Search(ctx, admin, domain.Query{Text: "falcons", Mode: domain.ModeText, Limit: 5})
	require.NoError(t, err)
	require.Len(t, res.Hits, 1)
	require.Equal(t, "f1", res.Hits[0].FileID)
	require.EqualValues(t, 2, res.Hits[0].Version)
	require.Equal(t, []string{"The kestrel file talks about <mark>falcons</mark> and voles."}, res.Hits[0].Highlights)
	require.Equal(t, 1, res.Hits[0].TextRank)
	require.Zero(t, res.Hits[0].VectorRank)

	_, err = s.Search(ctx, admin, domain.Query{Text: "kestrel", Mode: domain.ModeText, Limit: 10, Offset: 195})
	require.True(t, fault.Of(err, fault.Invalid), "paging deeper than the window is refused")
}

func TestRebuildIsTrackedAndAdminOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := withHistory(t)
	_, err := s.StartRebuild(ctx, callers["alice"])
	require.True(t, fault.Of(err, fault.Forbidden))
	_, err = s.IndexStats(callers["anonymous"])
	require.True(t, fault.Of(err, fault.Unauthenticated))
	before := snapshot(t, s)
	rb, err := s.StartRebuild(ctx, callers["admin"])
	require.NoError(t, err)
	require.Equal(t, "running", rb.State)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := s.IndexStats(callers["admin"])
		require.NoError(t, err)
		if st.Rebuild.State == "succeeded" {
			require.Equal(t, 100, st.Rebuild.Progress())
			require.Equal(t, st.Rebuild.Total, st.Rebuild.Done)
			break
		}
		require.True(t, time.Now().Before(deadline), "the rebuild did not finish")
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, before, snapshot(t, s))
}

func TestSearchNeedsTheSearchScope(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	for _, scopes := range [][]string{nil, {domain.ScopeResourcesRead}, {domain.ScopeResourcesAdmin}} {
		_, err := svc.Search(context.Background(), domain.Caller{Subject: "alice", Scopes: scopes}, domain.Query{Text: "x", Mode: domain.ModeText, Limit: 5})
		require.ErrorIs(t, err, domain.ErrNoSearchScope, "scopes %v", scopes)
		require.True(t, fault.Of(err, fault.Forbidden))
	}
	_, err := svc.Search(context.Background(), domain.Caller{}, domain.Query{Text: "x", Mode: domain.ModeText, Limit: 5})
	require.NoError(t, err, "anonymous callers search public documents")
}
