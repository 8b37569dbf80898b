package chunksink_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
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
	sink, err := chunksink.New(obs, pub, events.ChunkSetCBOR, 0)
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
	obs := bucket(ctx, t)
	sets := natsjs.NewChunkSets(obs)

	want := ready("r1")
	want.Chunks = append(want.Chunks, domain.EmbeddedChunk{Chunk: domain.Chunk{ID: "r1-1", Index: 1, Text: "over Tromsø"}, Vector: []float32{0.25, -3}})
	for ct, named := range map[string]*schema.ObjectRefContentType{
		events.ChunkSetCBOR: ptr(schema.ObjectRefContentTypeApplicationcbor),
		events.ChunkSetJSON: nil,
	} {
		pub := &published{}
		sink, err := chunksink.New(obs, pub, ct, 0)
		require.NoError(t, err)
		require.NoError(t, sink.Ready(ctx, want))
		require.Equal(t, 1, pub.count())
		_, ref, err := events.DecodeAs[schema.ChunksReady](pub.events[0])
		require.NoError(t, err)
		require.Nil(t, ref.Chunks, "with inlining off, every set is stored")
		require.Equal(t, named, ref.Object.ContentType, ct)

		set, err := sets.Fetch(ctx, *ref.Object)
		require.NoError(t, err, ct)
		require.Len(t, set.Chunks, 2)
		for i, c := range want.Chunks {
			require.Equal(t, c.Text, set.Chunks[i].Text, ct)
			vec, err := events.DecodeVector(set.Chunks[i].Vector)
			require.NoError(t, err)
			require.Equal(t, c.Vector, vec, ct)
		}
	}

	_, err := chunksink.New(obs, &published{}, "application/xml", 0)
	require.ErrorContains(t, err, "unsupported content type")
	for _, n := range []int{-1, chunksink.MaxInlineBytes + 1} {
		_, err = chunksink.New(obs, &published{}, events.ChunkSetCBOR, n)
		require.ErrorContains(t, err, "is outside 0 to", n)
	}
}

// TestSmallChunkSetsTravelInTheirEvents: a set whose chunks take at most
// the limit as JSON is carried by its event and not stored (ADR 0054); one
// byte over, it is stored and named as before. Either way a result
// delivered twice is announced with the same event id, for JetStream to
// drop the second.
func TestSmallChunkSetsTravelInTheirEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	obs := bucket(ctx, t)
	resource := uuid.NewString() // the bucket outlives the test run
	want := ready(resource)

	announce := func(limit int) (ports.Event, schema.ChunksReady) {
		t.Helper()
		pub := &published{}
		sink, err := chunksink.New(obs, pub, events.ChunkSetCBOR, limit)
		require.NoError(t, err)
		require.NoError(t, sink.Ready(ctx, want))
		require.NoError(t, sink.Ready(ctx, want))
		require.Equal(t, 2, pub.count())
		require.Equal(t, pub.events[0].ID, pub.events[1].ID, "the same result, the same event id")
		_, ref, err := events.DecodeAs[schema.ChunksReady](pub.events[0])
		require.NoError(t, err)
		require.Equal(t, 1, ref.ChunkCount)
		return pub.events[0], ref
	}
	stored := func() []string {
		t.Helper()
		infos, err := obs.List(ctx)
		if errors.Is(err, jetstream.ErrNoObjectsFound) {
			return nil
		}
		require.NoError(t, err)
		var keys []string
		for _, info := range infos {
			if strings.HasPrefix(info.Name, resource+"/") {
				keys = append(keys, info.Name)
			}
		}
		return keys
	}

	_, carried := announce(chunksink.MaxInlineBytes)
	require.Nil(t, carried.Object)
	require.NotNil(t, carried.Chunks)
	require.Len(t, *carried.Chunks, 1)
	require.Equal(t, "the tide", (*carried.Chunks)[0].Text)
	vec, err := events.DecodeVector((*carried.Chunks)[0].Vector)
	require.NoError(t, err)
	require.Equal(t, want.Chunks[0].Vector, vec)
	require.Empty(t, stored(), "a set in its event is not stored")

	size, err := json.Marshal(*carried.Chunks)
	require.NoError(t, err)
	_, exact := announce(len(size))
	require.NotNil(t, exact.Chunks, "a set of exactly the limit travels in its event")
	require.Empty(t, stored())

	_, named := announce(len(size) - 1)
	require.Nil(t, named.Chunks)
	require.NotNil(t, named.Object, "a byte over the limit, the set is stored")
	require.Equal(t, []string{named.Object.Key}, stored())
	set, err := natsjs.NewChunkSets(obs).Fetch(ctx, *named.Object)
	require.NoError(t, err)
	require.Equal(t, *carried.Chunks, set.Chunks, "stored or carried, the same chunks")
}

func ptr[T any](v T) *T { return &v }

// bucket is the chunk-set bucket on the machine's NATS server.
func bucket(ctx context.Context, t *testing.T) jetstream.ObjectStore {
	t.Helper()
	nc, js, err := natsjs.Connect(testinfra.NATS(t), "chunks-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	obs, err := natsjs.OpenChunkBucket(ctx, js)
	require.NoError(t, err)
	return obs
}
