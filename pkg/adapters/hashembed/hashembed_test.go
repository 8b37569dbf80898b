package hashembed_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
)

func TestRelatedTextsScoreHigherThanUnrelated(t *testing.T) {
	t.Parallel()
	query := hashembed.Vector("how to rotate signing keys for access tokens")
	related := hashembed.Vector("Signing keys rotate on a schedule; access tokens signed with a retired key stay valid.")
	unrelated := hashembed.Vector("The recipe needs flour, butter, sugar and two eggs baked for an hour.")
	inflected := hashembed.Vector("rotating the token signer's keys")
	require.Greater(t, hashembed.Cosine(query, related), hashembed.Cosine(query, unrelated)+0.2)
	require.Greater(t, hashembed.Cosine(query, inflected), hashembed.Cosine(query, unrelated),
		"character n-grams relate word forms (rotate / rotating, token / tokens)")
}

func TestVectorsAreNormalisedAndDeterministic(t *testing.T) {
	t.Parallel()
	v := hashembed.Vector("Lattice stores resources")
	require.Len(t, v, hashembed.Dimensions)
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	require.InDelta(t, 1, math.Sqrt(norm), 1e-5)
	require.Equal(t, v, hashembed.Vector("lattice STORES resources!"), "case and punctuation do not matter")
	require.InDelta(t, 1, hashembed.Cosine(v, v), 1e-5)
	empty := hashembed.Vector("  ... ")
	require.Equal(t, make([]float32, hashembed.Dimensions), empty)

	out, err := hashembed.Embedder{}.Embed(context.Background(), []string{"a b", "c d"})
	require.NoError(t, err)
	require.Len(t, out, 2)
	require.Equal(t, hashembed.Vector("c d"), out[1], "results keep the input order")
}

func BenchmarkEmbedChunk(b *testing.B) {
	text := "Lattice replaces a Python monolith with six services: gateway, auth, resource, search, processing and analytics. " +
		"Resources are content with metadata; files attached to them are extracted, chunked and embedded so they can be found by keyword and by meaning."
	b.ReportAllocs()
	for b.Loop() {
		_ = hashembed.Vector(text)
	}
}
