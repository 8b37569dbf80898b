package bleveindex

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/stretchr/testify/require"

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
