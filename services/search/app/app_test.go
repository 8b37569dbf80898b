package app_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
	text, err := bleveindex.New(t.TempDir() + "/idx")
	require.NoError(t, err)
	t.Cleanup(func() { _ = text.Close() })
	store := fake.NewSearchStore()
	return app.New(app.Deps{Store: store, Text: text, Vectors: vecindex.NewFlat(), Embedder: hashembed.Embedder{}, Audit: &portstest.AuditTrail{}}, app.Options{}), store
}

// event is one thing the consumer applies.
type event func(ctx context.Context, s *app.Service) error

var at = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func put(id, owner, vis string, version int64, tags ...string) event {
	return func(ctx context.Context, s *app.Service) error {
		return s.PutDocument(ctx, fmt.Sprintf("e-put-%s-%d", id, version), domain.Document{ResourceID: id, OwnerID: owner,
			Title: "Doc " + id, Visibility: vis, Tags: tags, Metadata: map[string]string{"v": fmt.Sprint(version)},
			Version: version, UpdatedAt: at.Add(time.Duration(version) * time.Hour)})
	}
}

func chunks(id, file string, version int64, texts ...string) event {
	return func(ctx context.Context, s *app.Service) error {
		vecs, err := hashembed.Embedder{}.Embed(ctx, texts)
		if err != nil {
			return err
		}
		set := domain.ChunkSet{ResourceID: id, FileID: file, Version: version, Model: hashembed.Model, Dimensions: hashembed.Dimensions}
		for i, tx := range texts {
			set.Chunks = append(set.Chunks, domain.Chunk{ID: fmt.Sprintf("%s/%s/%d/%s", id, file, version, tx[:4]), Index: i, Text: tx, Vector: vecs[i]})
		}
		return s.PutChunks(ctx, fmt.Sprintf("e-chunks-%s-%s-%d", id, file, version), set)
	}
}

func del(id string, version int64) event {
	return func(ctx context.Context, s *app.Service) error {
		return s.DeleteDocument(ctx, "e-del-"+id, id, version)
	}
}

func delFile(id, file string) event {
	return func(ctx context.Context, s *app.Service) error {
		return s.DeleteFile(ctx, "e-delfile-"+id+file, id, file)
	}
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
	once, _ := newService(t)
	for _, e := range history() {
		require.NoError(t, e(ctx, once))
	}
	twice, _ := newService(t)
	for _, e := range history() { // every event delivered twice in a row
		require.NoError(t, e(ctx, twice))
		require.NoError(t, e(ctx, twice))
	}
	for _, e := range history() { // and the whole stream redelivered
		require.NoError(t, e(ctx, twice))
	}
	want := snapshot(t, once)
	require.Equal(t, want, snapshot(t, twice))
	require.NotContains(t, want, "r4", "the deleted resource is gone")
	require.NotContains(t, want, "r5/f2", "the deleted file is gone")
	require.NotContains(t, want, "stale")

	// A rebuild from the store yields the same index too.
	rebuilt, store := newService(t)
	for _, e := range history() {
		require.NoError(t, e(ctx, rebuilt))
	}
	fresh := app.New(app.Deps{Store: store, Text: mustText(t), Vectors: vecindex.NewFlat(), Embedder: hashembed.Embedder{}, Audit: &portstest.AuditTrail{}}, app.Options{})
	require.NoError(t, fresh.Load(ctx))
	require.Equal(t, stripStats(want), stripStats(snapshot(t, fresh)))
}

func mustText(t *testing.T) *bleveindex.Index {
	text, err := bleveindex.New(t.TempDir() + "/idx")
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
	s, _ := newService(t)
	for _, e := range history() {
		require.NoError(t, e(ctx, s))
	}
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
	require.NoError(t, put("r1", "alice", domain.Public, 3)(ctx, s))
	res, err := s.Search(ctx, callers["anonymous"], domain.Query{Text: "kestrels hover", Mode: domain.ModeText, Limit: 10})
	require.NoError(t, err)
	require.NotEmpty(t, res.Hits)
	require.Equal(t, "r1", res.Hits[0].ResourceID)
	require.NoError(t, put("r1", "alice", domain.Private, 4)(ctx, s))
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
	s, _ := newService(t)
	for _, e := range history() {
		require.NoError(t, e(ctx, s))
	}
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
	s, _ := newService(t)
	for _, e := range history() {
		require.NoError(t, e(ctx, s))
	}
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
