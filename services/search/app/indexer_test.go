package app_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
	"github.com/lattice-platform/lattice/pkg/adapters/vecindex"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/app/fake"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// countingText records the size of each full-text batch and can hold the
// first one until released.
type countingText struct {
	app.TextIndex
	mu      sync.Mutex
	batches []int
	hold    chan struct{} // closed: no longer held
	held    chan struct{} // closed once the first batch is being held
	once    sync.Once
}

func (c *countingText) Replace(ctx context.Context, docs []domain.Indexed) error {
	c.once.Do(func() { close(c.held); <-c.hold })
	c.mu.Lock()
	c.batches = append(c.batches, len(docs))
	c.mu.Unlock()
	return c.TextIndex.Replace(ctx, docs)
}

func (c *countingText) sizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.batches...)
}

// flakyStore fails to give back one resource until told otherwise.
type flakyStore struct {
	*fake.SearchStore
	broken atomic.Pointer[string]
}

func (f *flakyStore) Document(ctx context.Context, id string) (domain.Document, error) {
	if b := f.broken.Load(); b != nil && *b == id {
		return domain.Document{}, errors.New("the store cannot read " + id)
	}
	return f.SearchStore.Document(ctx, id)
}

func indexed(t *testing.T, s *app.Service, ids ...string) bool {
	t.Helper()
	res, err := s.Search(context.Background(), callers["admin"], domain.Query{Text: "kestrel", Mode: domain.ModeText, Weight: 0.5, Limit: 50})
	require.NoError(t, err)
	found := map[string]bool{}
	for _, h := range res.Hits {
		found[h.ResourceID] = true
	}
	for _, id := range ids {
		if !found[id] {
			return false
		}
	}
	return true
}

func within(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// While the indexer works on one batch, the events that arrive make up the
// next one: four events, two full-text batches.
func TestTheIndexerBatchesWhatArrivesWhileItWorks(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	text := &countingText{TextIndex: mustText(t), hold: make(chan struct{}), held: make(chan struct{})}
	s := app.New(app.Deps{Store: fake.NewSearchStore(), Text: text, Vectors: vecindex.NewFlat(), Embedder: hashembed.Embedder{}, Audit: &portstest.AuditTrail{}}, app.Options{})
	done := make(chan struct{})
	go func() { defer close(done); s.RunIndexer(ctx, func(err error) { t.Errorf("indexer: %v", err) }) }()
	defer func() { cancel(); <-done }()
	within(t, "the indexer is running", s.IndexerRunning)
	require.NoError(t, put("r0", "u1", "public", 1)(ctx, s))
	<-text.held // the indexer is in its first batch, held
	for _, id := range []string{"r1", "r2", "r3"} {
		require.NoError(t, put(id, "u1", "public", 1)(ctx, s))
		require.NoError(t, chunks(id, "", 1, "kestrel "+id)(ctx, s))
	}
	require.False(t, indexed(t, s, "r1"), "queued, not yet indexed")
	close(text.hold)
	within(t, "every resource is indexed", func() bool { return indexed(t, s, "r1", "r2", "r3") })
	sizes := text.sizes()
	require.Equal(t, 3, sizes[len(sizes)-1], "the three resources queued during the first batch are one batch: %v", sizes)
	within(t, "the last event is reported once indexed", func() bool {
		st, err := s.IndexStats(callers["admin"])
		require.NoError(t, err)
		return st.LastEvent.ID == "e-chunks-r3--1"
	})
}

// A resource the store cannot give back is retried, and does not hold up
// the others in its batch.
func TestAResourceThatCannotBeReadDoesNotHoldUpTheRest(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	store := &flakyStore{SearchStore: fake.NewSearchStore()}
	bad := "r2"
	store.broken.Store(&bad)
	s := app.New(app.Deps{Store: store, Text: mustText(t), Vectors: vecindex.NewFlat(), Embedder: hashembed.Embedder{}, Audit: &portstest.AuditTrail{}}, app.Options{})
	var reported atomic.Int32
	done := make(chan struct{})
	go func() { defer close(done); s.RunIndexer(ctx, func(error) { reported.Add(1) }) }()
	defer func() { cancel(); <-done }()
	within(t, "the indexer is running", s.IndexerRunning)
	require.NoError(t, put("r1", "u1", "public", 1)(ctx, s))
	require.NoError(t, chunks("r1", "", 1, "kestrel one")(ctx, s))
	within(t, "r1 is indexed", func() bool { return indexed(t, s, "r1") })
	require.NoError(t, put("r2", "u1", "public", 1)(ctx, s))
	require.NoError(t, chunks("r2", "", 1, "kestrel two")(ctx, s))
	require.NoError(t, put("r3", "u1", "public", 1)(ctx, s))
	require.NoError(t, chunks("r3", "", 1, "kestrel three")(ctx, s))
	within(t, "r3 is indexed while r2 fails", func() bool { return indexed(t, s, "r3") && reported.Load() > 0 })
	require.False(t, indexed(t, s, "r2"))
	store.broken.Store(nil)
	within(t, "r2 is indexed once the store gives it back", func() bool { return indexed(t, s, "r2") })
}

// When the indexer stops, what it had queued is indexed, and later events
// refresh for themselves.
func TestStoppingTheIndexerLeavesNoLag(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	s, _ := newService(t)
	done := make(chan struct{})
	go func() { defer close(done); s.RunIndexer(ctx, func(err error) { t.Errorf("indexer: %v", err) }) }()
	within(t, "the indexer is running", s.IndexerRunning)
	require.NoError(t, put("r1", "u1", "public", 1)(ctx, s))
	require.NoError(t, chunks("r1", "", 1, "kestrel one")(ctx, s))
	cancel()
	<-done
	require.True(t, indexed(t, s, "r1"))
	bg := context.Background()
	require.NoError(t, put("r2", "u1", "public", 1)(bg, s))
	require.NoError(t, chunks("r2", "", 1, "kestrel two")(bg, s))
	require.True(t, indexed(t, s, "r2"), "refreshed before the event returned")
}
