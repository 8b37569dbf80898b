package domain_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/processing/domain"
)

func prose(paragraphs, sentencesEach int) string {
	var ps []string
	n := 0
	for p := range paragraphs {
		var ss []string
		for range sentencesEach {
			n++
			ss = append(ss, fmt.Sprintf("Sentence %d of paragraph %d says something useful about lattices.", n, p))
		}
		ps = append(ps, strings.Join(ss, " "))
	}
	return strings.Join(ps, "\n\n")
}

func TestSplitRespectsTargetAndBoundaries(t *testing.T) {
	t.Parallel()
	text := prose(6, 8)
	chunks := domain.Split("r1", text, domain.ChunkOptions{Target: 400, Overlap: 80})
	require.Greater(t, len(chunks), 5)
	for i, c := range chunks {
		require.Equal(t, i, c.Index)
		require.LessOrEqual(t, len(c.Text), 400, "chunk %d", i)
		require.True(t, strings.HasPrefix(c.Text, "Sentence "), "chunk %d starts on a sentence: %q", i, c.Text[:20])
		require.True(t, strings.HasSuffix(c.Text, "."), "chunk %d ends on a sentence", i)
	}
	// Every sentence of the text is in some chunk.
	for _, s := range strings.SplitAfter(strings.ReplaceAll(text, "\n\n", " "), ". ") {
		s = strings.TrimSpace(s)
		found := false
		for _, c := range chunks {
			found = found || strings.Contains(c.Text, strings.TrimSuffix(s, " "))
		}
		require.True(t, found, "lost: %q", s)
	}
}

func TestSplitOverlapsConsecutiveChunks(t *testing.T) {
	t.Parallel()
	chunks := domain.Split("r1", prose(1, 30), domain.ChunkOptions{Target: 300, Overlap: 100})
	require.Greater(t, len(chunks), 3)
	for i := 1; i < len(chunks); i++ {
		prevLast := chunks[i-1].Text[strings.LastIndex(chunks[i-1].Text[:len(chunks[i-1].Text)-1], ". ")+2:]
		require.True(t, strings.HasPrefix(chunks[i].Text, prevLast), "chunk %d repeats the end of chunk %d", i, i-1)
	}
}

func TestChunkIDsAreStable(t *testing.T) {
	t.Parallel()
	text := prose(3, 5)
	a := domain.Split("r1", text, domain.ChunkOptions{Target: 300})
	b := domain.Split("r1", text, domain.ChunkOptions{Target: 300})
	require.Equal(t, a, b, "the same content gives the same chunks and ids")
	c := domain.Split("r2", text, domain.ChunkOptions{Target: 300})
	require.NotEqual(t, a[0].ID, c[0].ID, "ids are per resource")
	edited := domain.Split("r1", strings.Replace(text, "Sentence 1 ", "Sentence one ", 1), domain.ChunkOptions{Target: 300})
	require.NotEqual(t, a[0].ID, edited[0].ID)
	require.Equal(t, a[len(a)-1].ID, edited[len(edited)-1].ID, "untouched chunks keep their ids")
}

func TestSplitEdgeCases(t *testing.T) {
	t.Parallel()
	require.Empty(t, domain.Split("r", "", domain.ChunkOptions{}))
	require.Empty(t, domain.Split("r", " \n\n \t", domain.ChunkOptions{}))
	one := domain.Split("r", "Just one line", domain.ChunkOptions{})
	require.Len(t, one, 1)
	require.Equal(t, "Just one line", one[0].Text)

	long := strings.Repeat("word ", 500) // one sentence far over the target
	chunks := domain.Split("r", long, domain.ChunkOptions{Target: 200, Overlap: 20})
	require.Greater(t, len(chunks), 5)
	for _, c := range chunks {
		require.LessOrEqual(t, len(c.Text), 200)
		require.False(t, strings.Contains(c.Text, "wor d"), "never cut inside a word")
	}
	giant := domain.Split("r", strings.Repeat("é", 500), domain.ChunkOptions{Target: 100})
	for _, c := range giant {
		require.LessOrEqual(t, len(c.Text), 100)
		require.True(t, strings.HasPrefix(c.Text, "é"), "cut on rune boundaries")
	}
}

func TestRepeatedPassagesGetDistinctIDs(t *testing.T) {
	t.Parallel()
	para := strings.Repeat("The same paragraph again. ", 10)
	chunks := domain.Split("r1", para+"\n\n"+para+"\n\n"+para, domain.ChunkOptions{Target: len(para) + 5, Overlap: -1})
	require.Len(t, chunks, 3)
	ids := map[string]bool{}
	for _, c := range chunks {
		ids[c.ID] = true
	}
	require.Len(t, ids, 3, "ids are unique within a text")
	again := domain.Split("r1", para+"\n\n"+para+"\n\n"+para, domain.ChunkOptions{Target: len(para) + 5, Overlap: -1})
	require.Equal(t, chunks, again, "and still depend only on the content")
}
