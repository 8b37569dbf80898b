package bleveindex

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/bleveindex/asciiwords"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// heldAnalyzer signals each call as it starts and holds it until release
// is closed.
type heldAnalyzer struct {
	entered chan struct{}
	release chan struct{}
}

func (h heldAnalyzer) Analyze([]byte) analysis.TokenStream {
	h.entered <- struct{}{}
	<-h.release
	return nil
}

// analyseTwice starts two analyses through a and returns a channel closed
// once both have returned.
func analyseTwice(a pacedAnalyzer) <-chan struct{} {
	done := make(chan struct{})
	var left atomic.Int32
	left.Store(2)
	for range 2 {
		go func() {
			a.Analyze([]byte("the heron"))
			if left.Add(-1) == 0 {
				close(done)
			}
		}()
	}
	return done
}

func TestWhileBusyOneDocumentIsAnalysedAtATime(t *testing.T) {
	var busy atomic.Bool
	busy.Store(true)
	held := heldAnalyzer{entered: make(chan struct{}, 2), release: make(chan struct{})}
	a := pacedAnalyzer{inner: held, p: &pacer{busy: busy.Load}}
	done := analyseTwice(a)
	<-held.entered
	// The second call waits for the pacer the first holds.
	require.False(t, a.p.mu.TryLock(), "the first analysis holds the pacer")
	require.Empty(t, held.entered, "a second analysis started beside the first")
	close(held.release)
	<-held.entered
	<-done

	busy.Store(false)
	held = heldAnalyzer{entered: make(chan struct{}, 2), release: make(chan struct{})}
	a.inner = held
	done = analyseTwice(a)
	for range 2 { // both start before either is released
		select {
		case <-held.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("while not busy, analyses wait for each other")
		}
	}
	close(held.release)
	<-done
}

// An index's batches go through its pacer, and its queries do not: a
// search answers while an indexing worker holds the pacer.
func TestBatchesArePacedAndQueriesAreNot(t *testing.T) {
	var asked atomic.Int64
	x, err := New(t.TempDir()+"/idx", func() bool { asked.Add(1); return true })
	require.NoError(t, err)
	defer x.Close()
	ctx := context.Background()
	require.NoError(t, x.Replace(ctx, []domain.Indexed{resource(1, words(1), words(2), words(3))}))
	require.GreaterOrEqual(t, asked.Load(), int64(3), "each chunk's text is analysed through the pacer")

	x.pacer.mu.Lock() // as an indexing worker would while busy
	defer x.pacer.mu.Unlock()
	before := asked.Load()
	answered := make(chan []domain.Ranked, 1)
	go func() {
		hits, err := x.Search(ctx, domain.Caller{Subject: "someone"}, "word1 heron", domain.Filters{}, 5)
		if err == nil {
			_, err = x.Highlights(ctx, "word1", []string{"r000001-0"})
		}
		if err != nil {
			t.Error(err)
		}
		answered <- hits
	}()
	var hits []domain.Ranked
	testinfra.Within(t, 10*time.Second, "the search answered", func() bool {
		select {
		case hits = <-answered:
			return true
		default:
			return false
		}
	})
	require.NotEmpty(t, hits)
	require.Equal(t, "r000001-0", hits[0].ChunkID)
	require.Equal(t, before, asked.Load(), "a query's text went through the pacer")
}

// TestTheTextAnalyzerGivesEnsTokens checks that the text field's analyzer
// (asciiwords and en's filters) gives the tokens queries are analysed
// into by en, for ASCII text and for text that is not.
func TestTheTextAnalyzerGivesEnsTokens(t *testing.T) {
	cache := registry.NewCache()
	paced, err := newPacedAnalyzer(map[string]any{"pacer": &pacer{}}, cache)
	require.NoError(t, err)
	require.IsType(t, &asciiwords.Tokenizer{}, paced.(pacedAnalyzer).inner.(*analysis.DefaultAnalyzer).Tokenizer)
	enAnalyzer, err := cache.AnalyzerNamed(en.AnalyzerName)
	require.NoError(t, err)
	for _, text := range []string{
		"The Herons' nests, counted on 12.03.2024 at site_14: 1,024 eggs; it's the team's record.",
		"Les hérons’ nids — 東京 — and the HERONS running, ran, runs.",
	} {
		got, want := paced.Analyze([]byte(text)), enAnalyzer.Analyze([]byte(text))
		require.NotEmpty(t, want)
		require.Equal(t, want, got, "tokens of %q", text)
	}
}

// BenchmarkAnalyzeUpload measures the analysis of an upload's chunks (340
// of about 300 bytes) by en and by the text field's analyzer, which
// differs from it only in its tokenizer:
//
//	go test -run '^$' -bench AnalyzeUpload -benchmem ./pkg/adapters/bleveindex/
func BenchmarkAnalyzeUpload(b *testing.B) {
	cache := registry.NewCache()
	paced, err := newPacedAnalyzer(map[string]any{"pacer": &pacer{}}, cache)
	require.NoError(b, err)
	enAnalyzer, err := cache.AnalyzerNamed(en.AnalyzerName)
	require.NoError(b, err)
	chunks := make([][]byte, 340)
	for i := range chunks {
		chunks[i] = []byte(words(i)[:300])
	}
	for _, tc := range []struct {
		name string
		a    analysis.Analyzer
	}{{"en", enAnalyzer}, {"text", paced}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, c := range chunks {
					// Analysis lower-cases terms in place, as bleve's
					// documents hold copies of their text.
					tc.a.Analyze(append([]byte(nil), c...))
				}
			}
		})
	}
}
