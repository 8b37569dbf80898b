package chunksink_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/chunksink"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/processing/domain"
)

// published records the events the sink announces.
type published struct {
	mu     sync.Mutex
	events []ports.Event
}

func (p *published) PublishBatch(_ context.Context, events []ports.Event) []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, events...)
	return make([]error, len(events))
}

func (p *published) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

func ready(resource string) domain.ChunksReady {
	return domain.ChunksReady{ResourceID: resource, Version: 1, Model: "m", Dimensions: 2,
		Chunks: []domain.EmbeddedChunk{{Chunk: domain.Chunk{ID: resource + "-0", Text: "the tide"}, Vector: []float32{1, 0}}}}
}

// TestAChunkSetWhoseStoringStallsIsNotAnnounced: a chunk set is stored,
// then announced. When the object store's replies are lost (a node
// restarting), the put fails as unavailable once its own bound passes, not
// at the job's far deadline, and no event points to an object that may
// not be there; the job is retried.
func TestAChunkSetWhoseStoringStallsIsNotAnnounced(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url, relay := testinfra.StallingNATS(t)
	nc, js, err := natsjs.Connect(url, "chunks-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	obs, err := natsjs.OpenChunkBucket(ctx, js)
	require.NoError(t, err)
	pub := &published{}
	sink, err := chunksink.New(obs, pub, events.ChunkSetCBOR)
	require.NoError(t, err)
	sink.SetPutTimeout(100 * time.Millisecond)

	require.NoError(t, sink.Ready(ctx, ready("r1")))
	require.Equal(t, 1, pub.count(), "stored, then announced")

	relay.Stall()
	err = sink.Ready(ctx, ready("r2"))
	require.True(t, fault.Of(err, fault.Unavailable), "%v", err)
	require.Equal(t, 1, pub.count(), "nothing announced for a set that may not be stored")
	require.NoError(t, ctx.Err(), "the caller's deadline was not what ended the put")
}

// TestChunkSetsAreReadInTheTypeTheirEventNames: a set stored as CBOR is
// announced with that type, one stored as JSON (for a search that predates
// CBOR sets) with none, as before; search reads each back as it went in.
func TestChunkSetsAreReadInTheTypeTheirEventNames(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, js, err := natsjs.Connect(testinfra.NATS(t), "chunks-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	obs, err := natsjs.OpenChunkBucket(ctx, js)
	require.NoError(t, err)
	sets := natsjs.NewChunkSets(obs)

	want := ready("r1")
	want.Chunks = append(want.Chunks, domain.EmbeddedChunk{Chunk: domain.Chunk{ID: "r1-1", Index: 1, Text: "over Tromsø"}, Vector: []float32{0.25, -3}})
	for ct, named := range map[string]*schema.ObjectRefContentType{
		events.ChunkSetCBOR: ptr(schema.ObjectRefContentTypeApplicationcbor),
		events.ChunkSetJSON: nil,
	} {
		pub := &published{}
		sink, err := chunksink.New(obs, pub, ct)
		require.NoError(t, err)
		require.NoError(t, sink.Ready(ctx, want))
		require.Equal(t, 1, pub.count())
		_, ref, err := events.DecodeAs[schema.ChunksReady](pub.events[0])
		require.NoError(t, err)
		require.Equal(t, named, ref.Object.ContentType, ct)

		set, err := sets.Fetch(ctx, ref)
		require.NoError(t, err, ct)
		require.Len(t, set.Chunks, 2)
		for i, c := range want.Chunks {
			require.Equal(t, c.Text, set.Chunks[i].Text, ct)
			vec, err := events.DecodeVector(set.Chunks[i].Vector)
			require.NoError(t, err)
			require.Equal(t, c.Vector, vec, ct)
		}
	}

	_, err = chunksink.New(obs, &published{}, "application/xml")
	require.ErrorContains(t, err, "unsupported content type")
}

func ptr[T any](v T) *T { return &v }
