package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
)

// chunkSet is n chunks of dims-value vectors and a line of text each, the
// shape processing writes (hashembed: 1,024 values).
func chunkSet(n, dims int) schema.ChunkSet {
	set := schema.ChunkSet{Chunks: make([]schema.ChunkItem, n)}
	for i := range set.Chunks {
		vec := make([]float32, dims)
		for j := range vec {
			vec[j] = float32(i*dims+j) / 7
		}
		set.Chunks[i] = schema.ChunkItem{Id: fmt.Sprintf("chunk-%04d", i), Index: i,
			Text: strings.Repeat(fmt.Sprintf("Paragraph %d of the aurora notes, Tromsø. ", i), 6), Vector: events.EncodeVector(vec)}
	}
	return set
}

// Both stored forms give back the set that went in, and CBOR's is the
// smaller: vectors are bytes, not base64.
func TestChunkSetRoundTripsInBothForms(t *testing.T) {
	set := chunkSet(20, 1024)
	sizes := map[string]int{}
	for _, ct := range []string{events.ChunkSetCBOR, events.ChunkSetJSON} {
		body, err := events.EncodeChunkSet(set, ct)
		require.NoError(t, err)
		sizes[ct] = len(body)
		got, err := events.DecodeChunkSet(body, ct)
		require.NoError(t, err, ct)
		require.Equal(t, set, got, ct)
	}
	content := 0
	for _, c := range set.Chunks {
		content += len(c.Id) + len(c.Text) + len(c.Vector)
	}
	require.Less(t, sizes[events.ChunkSetCBOR], content+32*len(set.Chunks), "CBOR adds a few bytes a chunk to the content: %v", sizes)
	require.Greater(t, sizes[events.ChunkSetJSON], content*5/4, "JSON's base64 adds a third to the vectors: %v", sizes)

	// Objects written before references named a type are JSON.
	body, err := json.Marshal(set)
	require.NoError(t, err)
	got, err := events.DecodeChunkSet(body, "")
	require.NoError(t, err)
	require.Equal(t, set, got)
}

// The object's name is its digest, so the same chunks must give the same
// bytes every time: a redone job then stores nothing new.
func TestChunkSetCBORIsDeterministic(t *testing.T) {
	a, err := events.EncodeChunkSet(chunkSet(5, 8), events.ChunkSetCBOR)
	require.NoError(t, err)
	b, err := events.EncodeChunkSet(chunkSet(5, 8), events.ChunkSetCBOR)
	require.NoError(t, err)
	require.Equal(t, a, b)
}

// CBOR text must be UTF-8: bad bytes become U+FFFD, as JSON always made
// them, and the caller's chunks are left alone.
func TestChunkSetTextIsMadeValidUTF8(t *testing.T) {
	set := chunkSet(3, 4)
	set.Chunks[1].Text = "caf\xe9 au lait"
	body, err := events.EncodeChunkSet(set, events.ChunkSetCBOR)
	require.NoError(t, err)
	require.Equal(t, "caf\xe9 au lait", set.Chunks[1].Text, "the caller's set is not changed")
	got, err := events.DecodeChunkSet(body, events.ChunkSetCBOR)
	require.NoError(t, err)
	require.Equal(t, "caf\uFFFD au lait", got.Chunks[1].Text)
	require.Equal(t, set.Chunks[2], got.Chunks[2])
}

func TestChunkSetRefusesUnknownContentTypes(t *testing.T) {
	_, err := events.EncodeChunkSet(chunkSet(1, 4), "application/x-protobuf")
	require.ErrorContains(t, err, `unsupported content type "application/x-protobuf"`)
	_, err = events.DecodeChunkSet([]byte(`{"chunks":[]}`), "text/plain")
	require.ErrorContains(t, err, `unsupported content type "text/plain"`)
}

// A stored object is input like any other: each of the decoder's limits
// refuses a set that crosses it, before it allocates for what it claims.
func TestChunkSetCBORLimits(t *testing.T) {
	item := map[string]any{"id": "c", "index": 0, "text": "t", "vector": []byte{0, 0, 128, 63}}
	valid, err := cbor.Marshal(map[string]any{"chunks": []any{item}})
	require.NoError(t, err)
	_, err = events.DecodeChunkSet(valid, events.ChunkSetCBOR)
	require.NoError(t, err, "the baseline is accepted")

	withExtra := map[string]any{"id": "c", "index": 0, "text": "t", "vector": []byte{}, "owner": "x"}
	deep := map[string]any{"chunks": []any{map[string]any{"id": "c", "text": []any{[]any{[]any{"x"}}}}}}
	manyKeys := map[string]any{}
	for i := range 17 {
		manyKeys[fmt.Sprint("k", i)] = i
	}
	type refused struct {
		body []byte
		why  string
	}
	cases := map[string]refused{
		"an unknown field": {must(cbor.Marshal(map[string]any{"chunks": []any{withExtra}})), "unknown field"},
		"a duplicate key": {append([]byte{0xa2, 0x66}, append([]byte("chunks"), append([]byte{0x80, 0x66}, append([]byte("chunks"), 0x80)...)...)...),
			`duplicate map key "chunks"`},
		// {"chunks": [_ ...]}: an indefinite-length array.
		"an indefinite length": {append(append([]byte{0xa1, 0x66}, "chunks"...), 0x9f, 0xff), "indefinite-length array isn't allowed"},
		// {"chunks": [...]} claiming 2^21 elements it does not have.
		"more chunks than the limit": {append(append([]byte{0xa1, 0x66}, "chunks"...), 0x9a, 0x00, 0x20, 0x00, 0x00), "max number of elements 1048576"},
		"nesting past four levels":   {must(cbor.Marshal(deep)), "max nested level 4"},
		"a tag":                      {must(cbor.Marshal(cbor.Tag{Number: 55799, Content: map[string]any{"chunks": []any{}}})), "tag isn't allowed"},
		"invalid UTF-8 text":         {bytes.Replace(valid, []byte{0x61, 't'}, []byte{0x61, 0xff}, 1), "invalid UTF-8"},
		"trailing bytes":             {append(bytes.Clone(valid), 0x00), "extraneous data"},
		"more than 16 keys in a map": {must(cbor.Marshal(map[string]any{"chunks": []any{manyKeys}})), "max number of key-value pairs 16"},
	}
	for name, c := range cases {
		_, err := events.DecodeChunkSet(c.body, events.ChunkSetCBOR)
		require.ErrorContains(t, err, c.why, name)
	}
}

// JSON sets, read for objects written before CBOR, have the same bound on
// their chunks.
func TestChunkSetJSONLimit(t *testing.T) {
	body := []byte(`{"chunks":[` + strings.Repeat(`{},`, events.MaxChunkSetChunks) + `{}]}`)
	_, err := events.DecodeChunkSet(body, events.ChunkSetJSON)
	require.ErrorContains(t, err, "over the limit")
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkDecodeChunkSet reads one 100 KiB upload's chunk set (340
// chunks of 1,024 values, about 1.9 MB as JSON) in each stored form.
func BenchmarkDecodeChunkSet(b *testing.B) {
	set := chunkSet(340, 1024)
	for _, ct := range []string{events.ChunkSetJSON, events.ChunkSetCBOR} {
		body, err := events.EncodeChunkSet(set, ct)
		require.NoError(b, err)
		b.Run(ct, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := events.DecodeChunkSet(body, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeChunkSet is the writer's side of the same set.
func BenchmarkEncodeChunkSet(b *testing.B) {
	set := chunkSet(340, 1024)
	for _, ct := range []string{events.ChunkSetJSON, events.ChunkSetCBOR} {
		b.Run(ct, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := events.EncodeChunkSet(set, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
