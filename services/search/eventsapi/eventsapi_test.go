package eventsapi_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/bleveindex"
	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
	"github.com/lattice-platform/lattice/pkg/adapters/vecindex"
	"github.com/lattice-platform/lattice/pkg/events"
	eventschema "github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/app/fake"
	"github.com/lattice-platform/lattice/services/search/domain"
	"github.com/lattice-platform/lattice/services/search/eventsapi"
)

var (
	at    = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	admin = domain.Caller{Subject: "root", Scopes: []string{domain.ScopeSearchRead, domain.ScopeResourcesAdmin}}
)

// sets is the object store of chunk sets, by key; a key it does not hold
// fails as an unreachable store does.
type sets map[string]eventschema.ChunkSet

var errStoreDown = errors.New("object store unreachable")

func (s sets) Fetch(_ context.Context, ref eventschema.ObjectRef) (eventschema.ChunkSet, error) {
	set, ok := s[ref.Key]
	if !ok {
		return eventschema.ChunkSet{}, errStoreDown
	}
	return set, nil
}

// countingText counts the full-text index's batches.
type countingText struct {
	app.TextIndex
	mu      sync.Mutex
	batches []int // documents' chunks per batch
}

func (c *countingText) Replace(ctx context.Context, docs []domain.Indexed) error {
	n := 0
	for _, d := range docs {
		n += len(d.Chunks)
	}
	c.mu.Lock()
	c.batches = append(c.batches, n)
	c.mu.Unlock()
	return c.TextIndex.Replace(ctx, docs)
}

func newHandler(t *testing.T, s sets) (*eventsapi.Handler, *app.Service, *countingText) {
	t.Helper()
	idx, err := bleveindex.New(t.TempDir()+"/idx", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = idx.Close() })
	text := &countingText{TextIndex: idx}
	a := app.New(app.Deps{Store: fake.NewSearchStore(), Text: text, Vectors: vecindex.NewFlat(), Embedder: hashembed.Embedder{},
		Audit: &portstest.AuditTrail{}}, app.Options{})
	return eventsapi.New(a, s, slog.New(slog.DiscardHandler)), a, text
}

func created(t *testing.T, id string) ports.Event {
	t.Helper()
	e, err := events.New("resource", eventschema.CloudEventTypeResourceCreated, id, at, eventschema.ResourceCreated{
		Id: id, OwnerId: "alice", Title: "Notes " + id, Visibility: "public", Version: 1, CreatedAt: at, UpdatedAt: at,
		Tags: []string{}, Metadata: map[string]string{}})
	require.NoError(t, err)
	return e
}

// ready is a chunks.ready event for the set of n chunks under key, of
// dims dimensions.
func ready(t *testing.T, resource, key string, n, dims int) ports.Event {
	t.Helper()
	return readyWith(t, eventschema.ChunksReady{
		ResourceId: resource, Version: 1, Model: hashembed.Model, Dimensions: dims, ChunkCount: n, ProcessedAt: at,
		Object: &eventschema.ObjectRef{Bucket: "chunks", Key: key}})
}

// readyWith is a chunks.ready event with data d.
func readyWith(t *testing.T, d eventschema.ChunksReady) ports.Event {
	t.Helper()
	e, err := events.New("processing", eventschema.CloudEventTypeChunksReady, d.ResourceId, at, d)
	require.NoError(t, err)
	return e
}

// chunkSet is n chunks about kestrels, embedded.
func chunkSet(t *testing.T, resource string, n int) eventschema.ChunkSet {
	t.Helper()
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("Kestrel sighting %d over the verge", i)
	}
	vecs, err := hashembed.Embedder{}.Embed(context.Background(), texts)
	require.NoError(t, err)
	var set eventschema.ChunkSet
	for i, text := range texts {
		set.Chunks = append(set.Chunks, eventschema.ChunkItem{Id: fmt.Sprintf("%s/%d", resource, i), Index: i, Text: text,
			Vector: events.EncodeVector(vecs[i])})
	}
	return set
}

// Each event of a group gets its own answer: one that can never be
// applied (not a CloudEvent, a vector of the wrong size) is done with,
// one that failed for now (its chunk set could not be fetched) is to be
// redelivered, and the rest are applied, with one index update.
func TestHandleGroupAnswersForEachEvent(t *testing.T) {
	t.Parallel()
	h, a, text := newHandler(t, sets{"r1": chunkSet(t, "r1", 2), "r2": chunkSet(t, "r2", 1)})
	group := []ports.Event{
		{ID: "junk", Subject: "events.resource.created", Payload: []byte("not json")},
		created(t, "r1"),
		ready(t, "r1", "r1", 2, hashembed.Dimensions),
		ready(t, "r3", "missing", 1, hashembed.Dimensions),
		ready(t, "r2", "r2", 1, 3),
	}
	errs := h.HandleGroup(context.Background(), group)
	require.Len(t, errs, len(group))
	require.NoError(t, errs[0], "a malformed event is done with")
	require.NoError(t, errs[1])
	require.NoError(t, errs[2])
	require.ErrorIs(t, errs[3], errStoreDown, "an unreachable chunk set is retried")
	require.NoError(t, errs[4], "a vector of the wrong size is done with")
	require.Len(t, text.batches, 1, "one index update for the group")

	res, err := a.Search(context.Background(), admin, domain.Query{Text: "kestrel", Mode: domain.ModeText, Limit: 10})
	require.NoError(t, err)
	require.Len(t, res.Hits, 2)
	for _, hit := range res.Hits {
		require.Equal(t, "r1", hit.ResourceID)
	}
}

// A group of large chunk sets is applied a few sets at a time, so a
// backlog of uploads is never held, vectors and all, in one batch, and
// the requests in flight get their turn between the parts.
func TestHandleGroupWorksInPartsAndGivesWayBetweenThem(t *testing.T) {
	t.Parallel()
	s := sets{}
	var group []ports.Event
	for _, r := range []string{"r1", "r2", "r3"} {
		s[r] = chunkSet(t, r, 300)
		group = append(group, ready(t, r, r, 300, hashembed.Dimensions))
	}
	h, _, text := newHandler(t, s)
	gate, endRequest := testinfra.BusyGate(t)
	ctx, done := gate.Unit(context.Background())
	handled := make(chan []error, 1)
	go func() {
		defer done()
		handled <- h.HandleGroup(ctx, group)
	}()
	require.Eventually(t, func() bool { return gate.Waiting() == 1 }, 10*time.Second, time.Millisecond,
		"after its first part, the group waits for its turn while a request is in flight")
	text.mu.Lock()
	require.Equal(t, []int{300}, text.batches, "one part applied before the wait")
	text.mu.Unlock()
	endRequest()
	for i, err := range <-handled {
		require.NoError(t, err, "event %d", i)
	}
	require.Equal(t, []int{300, 300, 300}, text.batches, "no part holds more than 500 chunks")
	n, err := text.Count()
	require.NoError(t, err)
	require.EqualValues(t, 900, n)
}

// A small chunk set travels in its event (ADR 0054): it is applied without
// a read of the object store, here one that answers no read at all. An
// event carrying both a set and a reference, or neither, or a count its
// set does not hold, is done with and changes nothing.
func TestChunkSetsInTheirEventsAreAppliedWithoutTheStore(t *testing.T) {
	t.Parallel()
	h, a, _ := newHandler(t, sets{})
	inline := func(resource string, n int) eventschema.ChunksReady {
		set := chunkSet(t, resource, n)
		return eventschema.ChunksReady{ResourceId: resource, Version: 1, Model: hashembed.Model, Dimensions: hashembed.Dimensions,
			ChunkCount: n, ProcessedAt: at, Chunks: &set.Chunks}
	}
	both := inline("r2", 1)
	both.Object = &eventschema.ObjectRef{Bucket: "chunks", Key: "r2"}
	neither := inline("r3", 1)
	neither.Chunks = nil
	miscounted := inline("r4", 2)
	miscounted.ChunkCount = 3
	group := []ports.Event{readyWith(t, inline("r1", 2)), readyWith(t, both), readyWith(t, neither), readyWith(t, miscounted)}
	for i, err := range h.HandleGroup(context.Background(), group) {
		require.NoError(t, err, "event %d is applied or done with, never retried", i)
	}

	res, err := a.Search(context.Background(), admin, domain.Query{Text: "kestrel", Mode: domain.ModeText, Limit: 10})
	require.NoError(t, err)
	require.Len(t, res.Hits, 2, "the inline set's two chunks, and nothing of the malformed events")
	for _, hit := range res.Hits {
		require.Equal(t, "r1", hit.ResourceID)
	}
}
