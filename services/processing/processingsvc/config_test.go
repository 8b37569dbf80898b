package processingsvc

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

// PROCESSING_CHUNK_SETS picks the stored form of chunk sets; CBOR unless
// told, and a value that is neither form stops the start with its name.
func TestChunkSetFormatIsReadFromTheEnvironment(t *testing.T) {
	for value, want := range map[string]string{"": events.ChunkSetCBOR, "cbor": events.ChunkSetCBOR, "json": events.ChunkSetJSON} {
		m := map[string]string{}
		if value != "" {
			m["PROCESSING_CHUNK_SETS"] = value
		}
		env := config.FromMap(m)
		require.Equal(t, want, LoadConfig(env).ChunkSetType, value)
		require.NoError(t, env.Err())
	}
	env := config.FromMap(map[string]string{"PROCESSING_CHUNK_SETS": "protobuf"})
	LoadConfig(env)
	require.EqualError(t, env.Err(), `PROCESSING_CHUNK_SETS: "protobuf" is neither cbor nor json`)
}

// PROCESSING_INLINE_CHUNK_BYTES bounds the chunk sets that travel in their
// events: 64 KiB unless told, 0 for none (Config's negative), and a value
// that is not a size from 0 to chunksink.MaxInlineBytes stops the start.
func TestInlineChunkBytesAreReadFromTheEnvironment(t *testing.T) {
	for value, want := range map[string]int{"": DefaultInlineChunkBytes, "0": -1, "4096": 4096, "524288": 524288} {
		m := map[string]string{}
		if value != "" {
			m["PROCESSING_INLINE_CHUNK_BYTES"] = value
		}
		env := config.FromMap(m)
		require.Equal(t, want, LoadConfig(env).InlineChunkBytes, value)
		require.NoError(t, env.Err())
	}
	for _, value := range []string{"-1", "524289", "64KiB"} {
		env := config.FromMap(map[string]string{"PROCESSING_INLINE_CHUNK_BYTES": value})
		LoadConfig(env)
		require.EqualError(t, env.Err(), `PROCESSING_INLINE_CHUNK_BYTES: "`+value+`" is not a number of bytes from 0 to 524288`)
	}
}
