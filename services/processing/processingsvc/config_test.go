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
