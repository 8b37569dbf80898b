package natsjs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
	ref := func(ct schema.ObjectRefContentType) schema.ObjectRef {
		return schema.ObjectRef{Bucket: natsjs.ChunkBucket, Key: "r/body/1/x", Sha256: hex.EncodeToString(sum[:]), ContentType: &ct}
	}

	sets := natsjs.NewChunkSets(obs)
	set, err := sets.Fetch(ctx, ref(schema.ObjectRefContentTypeApplicationcbor))
	require.NoError(t, err, "the baseline is read")
	require.Equal(t, "the tide", set.Chunks[0].Text)

	for name, c := range map[string]struct {
		ref  schema.ObjectRef
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

	// A digest the object was not stored with: Fetch hashes the bytes
	// itself, and they do not match.
	other := ref(schema.ObjectRefContentTypeApplicationcbor)
	other.Sha256 = strings.Repeat("0", 64)
	_, err = sets.Fetch(ctx, other)
	require.ErrorContains(t, err, "does not match its digest")
	require.True(t, fault.Of(err, fault.Invalid), "%v", err)

	// Bytes changed in the store after they were written: the object
	// store's own check, which Fetch relies on when the digests agree,
	// refuses them too, as a read to try again (the object may have been
	// put anew while it was read), not as a set to skip.
	info, err := obs.GetInfo(ctx, "r/body/1/x")
	require.NoError(t, err)
	stream, err := js.Stream(ctx, "OBJ_"+natsjs.ChunkBucket)
	require.NoError(t, err)
	chunk := "$O." + natsjs.ChunkBucket + ".C." + info.NUID
	require.NoError(t, stream.Purge(ctx, jetstream.WithPurgeSubject(chunk)))
	corrupt := bytes.Clone(body)
	corrupt[len(corrupt)-1] ^= 0xff
	_, err = js.Publish(ctx, chunk, corrupt)
	require.NoError(t, err)
	_, err = sets.Fetch(ctx, ref(schema.ObjectRefContentTypeApplicationcbor))
	require.ErrorContains(t, err, "did not match its digest as read")
	require.True(t, fault.Of(err, fault.Unavailable), "%v", err)

	_, err = sets.Fetch(ctx, schema.ObjectRef{Bucket: natsjs.ChunkBucket, Key: "gone"})
	require.True(t, fault.Of(err, fault.NotFound), "%v", err)
}
