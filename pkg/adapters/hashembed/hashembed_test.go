package hashembed_test

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"testing"
	"unicode"

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

// reference is Vector as first written, building each feature as a string
// and hashing it with hash/fnv: the stored vectors were made by it, so
// Vector must keep giving exactly its values.
func reference(text string) []float32 {
	v := make([]float64, hashembed.Dimensions)
	add := func(feature string, weight float64) {
		h := fnv.New64a()
		_, _ = h.Write([]byte(feature))
		sum := h.Sum64()
		for k := 0; k < 2; k++ {
			bits := sum >> (32 * k)
			sign := 1.0
			if bits>>20&1 == 1 {
				sign = -1
			}
			v[int(bits%hashembed.Dimensions)] += sign * weight
		}
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	for i, w := range words {
		add("w:"+w, 1.0)
		if i > 0 {
			add("b:"+words[i-1]+" "+w, 0.7)
		}
		padded := []rune("^" + w + "$")
		for n := 3; n <= 5; n++ {
			for j := 0; j+n <= len(padded); j++ {
				add("c:"+string(padded[j:j+n]), 0.35)
			}
		}
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, hashembed.Dimensions)
	if norm == 0 {
		return out
	}
	inv := 1 / math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x * inv)
	}
	return out
}

func TestVectorKeepsTheStoredVectorsValues(t *testing.T) {
	t.Parallel()
	texts := []string{
		"", "a", "ab", "Lattice stores resources", "rotating the token signer's keys, 2026-11-30",
		"Ünïcödé wörds: straße, ĳssel, Ελληνικά, 日本語のテキスト, emoji 🙂 and x²",
		"bad \xff\xfe utf-8 \xc3 bytes", strings.Repeat("supercalifragilisticexpialidocious", 5),
		strings.Repeat("The quokka was seen near the river bend at dusk. ", 40),
	}
	for i := range 200 {
		var b strings.Builder
		for j := range 30 {
			b.WriteString(strings.Repeat(string(rune('a'+(i*7+j)%26)), 1+(i+j)%9))
			b.WriteString([]string{" ", ", ", "-", "é ", "日 "}[(i+j)%5])
		}
		texts = append(texts, b.String())
	}
	for _, text := range texts {
		require.Equal(t, reference(text), hashembed.Vector(text), "%q", text)
	}
}

// FuzzVectorKeepsTheStoredVectorsValues checks Vector against reference on
// any text: `go test -fuzz FuzzVector ./pkg/adapters/hashembed/` to search,
// the seeds on every run.
func FuzzVectorKeepsTheStoredVectorsValues(f *testing.F) {
	for _, seed := range []string{"", "Ab", "ÀÉÎ ǅ ΣΑΣ İstanbul", "a\xffb\xc3", "x² ½ ⅷ ٣", strings.Repeat("wörd ", 300)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 1<<14 {
			t.Skip("longer than any chunk")
		}
		require.Equal(t, reference(text), hashembed.Vector(text))
	})
}

// BenchmarkEmbedFullChunk embeds a chunk of the size processing cuts by
// default (about 1,000 characters).
func BenchmarkEmbedFullChunk(b *testing.B) {
	text := strings.Repeat("Uploaded files are extracted, cut into overlapping chunks and embedded in batches; ", 13)[:1000]
	b.ReportAllocs()
	for b.Loop() {
		_ = hashembed.Vector(text)
	}
}
