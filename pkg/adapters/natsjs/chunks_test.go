package natsjs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
)

// TestFetchRefusesWhatItCannotRead: an object past the byte limit, one
// whose bytes are not the type its reference names, and a type Fetch does
// not know are each refused as invalid, not retried: reading them again
// cannot help.
func TestFetchRefusesWhatItCannotRead(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, js := embeddedBus(ctx, t)
	obs, err := natsjs.OpenChunkBucket(ctx, js)
	require.NoError(t, err)
	body, err := events.EncodeChunkSet(schema.ChunkSet{Chunks: []schema.ChunkItem{{Id: "c", Text: "the tide", Vector: events.EncodeVector([]float32{1, 2})}}}, events.ChunkSetCBOR)
	require.NoError(t, err)
	_, err = obs.PutBytes(ctx, "r/body/1/x", body)
	require.NoError(t, err)
	sum := sha256.Sum256(body)
	ref := func(ct schema.ObjectRefContentType) schema.ChunksReady {
		return schema.ChunksReady{Object: schema.ObjectRef{Bucket: natsjs.ChunkBucket, Key: "r/body/1/x", Sha256: hex.EncodeToString(sum[:]), ContentType: &ct}}
	}

	sets := natsjs.NewChunkSets(obs)
	set, err := sets.Fetch(ctx, ref(schema.ObjectRefContentTypeApplicationcbor))
	require.NoError(t, err, "the baseline is read")
	require.Equal(t, "the tide", set.Chunks[0].Text)

	for name, c := range map[string]struct {
		ref  schema.ChunksReady
		why  string
		lift func(*natsjs.ChunkSets)
	}{
		"over the byte limit": {ref(schema.ObjectRefContentTypeApplicationcbor), "over the limit of 16",
			func(s *natsjs.ChunkSets) { natsjs.SetChunkSetLimit(s, 16) }},
		"CBOR named as JSON": {ref(schema.ObjectRefContentTypeApplicationjson), "is malformed", nil},
		"an unknown type":    {ref("application/x-protobuf"), `unsupported content type "application/x-protobuf"`, nil},
	} {
		sets := natsjs.NewChunkSets(obs)
		if c.lift != nil {
			c.lift(sets)
		}
		_, err := sets.Fetch(ctx, c.ref)
		require.ErrorContains(t, err, c.why, name)
		require.True(t, fault.Of(err, fault.Invalid), "%s: %v", name, err)
	}

	_, err = sets.Fetch(ctx, schema.ChunksReady{Object: schema.ObjectRef{Bucket: natsjs.ChunkBucket, Key: "gone"}})
	require.True(t, fault.Of(err, fault.NotFound), "%v", err)
}
