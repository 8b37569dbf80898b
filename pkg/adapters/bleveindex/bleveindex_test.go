package bleveindex

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	zapx "github.com/blevesearch/zapx/v17"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// resource is resource n with one chunk per text, each text a few dozen
// words of which word<n> is the resource's own.
func resource(n int, texts ...string) domain.Indexed {
	id := fmt.Sprintf("r%06d", n)
	d := domain.Indexed{Document: domain.Document{ResourceID: id, OwnerID: "owner", Visibility: domain.Public,
		Tags: []string{"field"}, Metadata: map[string]string{"kind": "notes"}, UpdatedAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}}
	for i, tx := range texts {
		d.Chunks = append(d.Chunks, domain.Chunk{ID: fmt.Sprintf("%s-%d", id, i), ResourceID: id, Text: tx})
	}
	return d
}

// words is a chunk's text: forty phrases, the first naming word<n>.
func words(n int) string {
	var b strings.Builder
	for j := range 40 {
		fmt.Fprintf(&b, "word%d seen near the river bend at dusk %d. ", (n+j*7919)%100_000, j)
	}
	return b.String()
}

// openIndex is a new index in tb's temporary directory, closed when tb
// ends.
func openIndex(tb testing.TB) *Index {
	tb.Helper()
	x, err := New(tb.TempDir()+"/idx", nil)
	require.NoError(tb, err)
	tb.Cleanup(func() { x.Close() })
	return x
}

// scorchStat is one of the index's scorch counters.
func scorchStat(t testing.TB, x *Index, name string) uint64 {
	t.Helper()
	stats, ok := x.idx.StatsMap()["index"].(map[string]any)
	require.True(t, ok, "scorch's stats")
	n, ok := stats[name].(uint64)
	require.True(t, ok, "scorch's %s", name)
	return n
}

func rootSegments(t testing.TB, x *Index) uint64 {
	t.Helper()
	return scorchStat(t, x, "TotFileSegmentsAtRoot") + scorchStat(t, x, "TotMemorySegmentsAtRoot")
}

// An index fed one document a batch, as search's events feed it, keeps
// merging its segments (with the lowered floor they merge among
// themselves, not into the largest each time) and finds every document.
func TestOneDocumentBatchesAreMergedAndFound(t *testing.T) {
	x := openIndex(t)
	ctx := context.Background()
	const n = 300
	for i := range n {
		require.NoError(t, x.Replace(ctx, []domain.Indexed{resource(i, words(i))}))
	}
	count, err := x.Count()
	require.NoError(t, err)
	require.EqualValues(t, n, count)
	// Unmerged, there would be one segment a batch; bleve's tiers of ten
	// leave a few dozen at most.
	testinfra.Within(t, 30*time.Second, "segments merged", func() bool { return rootSegments(t, x) <= 40 })
	for _, i := range []int{0, n / 2, n - 1} {
		hits, err := x.Search(ctx, domain.Caller{Subject: "someone"}, fmt.Sprintf("word%d", i), domain.Filters{}, 5)
		require.NoError(t, err)
		require.NotEmpty(t, hits, "resource %d", i)
		require.Equal(t, fmt.Sprintf("r%06d-0", i), hits[0].ChunkID)
	}
}

// Between writes, scorch's persister naps (ADR 0057), and what arrives
// meanwhile is searchable at once and written with the rest afterwards.
func TestThePersisterNapsAndBatchesAreFoundMeanwhile(t *testing.T) {
	x := openIndex(t)
	ctx := context.Background()
	for i := range 20 {
		require.NoError(t, x.Replace(ctx, []domain.Indexed{resource(i, words(i))}))
		hits, err := x.Search(ctx, domain.Caller{Subject: "someone"}, fmt.Sprintf("word%d", i), domain.Filters{}, 5)
		require.NoError(t, err)
		require.NotEmpty(t, hits, "resource %d, just replaced", i)
		require.Equal(t, fmt.Sprintf("r%06d-0", i), hits[0].ChunkID)
	}
	testinfra.Within(t, 30*time.Second, "the persister napped", func() bool {
		return scorchStat(t, x, "TotPersisterNapPauseCompleted") > 0
	})
	// Every segment in memory is written in the end.
	testinfra.Within(t, 30*time.Second, "segments written", func() bool {
		return scorchStat(t, x, "TotMemorySegmentsAtRoot") == 0
	})
}

// Replacing a resource's chunks removes the old ones from the index.
func TestReplaceDropsEarlierChunks(t *testing.T) {
	x := openIndex(t)
	ctx := context.Background()
	require.NoError(t, x.Replace(ctx, []domain.Indexed{resource(1, "alpha beta", "gamma delta")}))
	require.NoError(t, x.Replace(ctx, []domain.Indexed{resource(1, "epsilon")}))
	count, err := x.Count()
	require.NoError(t, err)
	require.EqualValues(t, 1, count)
	hits, err := x.Search(ctx, domain.Caller{Subject: "someone"}, "gamma", domain.Filters{}, 5)
	require.NoError(t, err)
	require.Empty(t, hits)
}

// Replacing some of a resource's sources keeps the chunks of the others;
// in one batch, a later entry for the same resource sees the earlier.
func TestReplacingSomeSourcesKeepsTheOthers(t *testing.T) {
	x := openIndex(t)
	ctx := context.Background()
	found := func(text string) []string {
		t.Helper()
		hits, err := x.Search(ctx, domain.Caller{Subject: "someone"}, text, domain.Filters{}, 5)
		require.NoError(t, err)
		var ids []string
		for _, h := range hits {
			ids = append(ids, h.ChunkID)
		}
		return ids
	}
	in := resource(1, "alpha body", "beta file", "gamma file")
	in.Chunks[1].FileID, in.Chunks[2].FileID = "f1", "f2"
	require.NoError(t, x.Replace(ctx, []domain.Indexed{in}))

	f1 := resource(1, "delta file")
	f1.Chunks[0].ID, f1.Chunks[0].FileID, f1.Sources = "r000001-f1-0", "f1", []string{"f1"}
	f2 := resource(1)
	f2.Sources = []string{"f2"}
	require.NoError(t, x.Replace(ctx, []domain.Indexed{f1, f2}))
	require.Equal(t, []string{"r000001-0"}, found("alpha"), "the body is kept")
	require.Empty(t, found("beta"), "f1's earlier chunk is replaced")
	require.Equal(t, []string{"r000001-f1-0"}, found("delta"))
	require.Empty(t, found("gamma"), "f2 has no chunks left")
	count, err := x.Count()
	require.NoError(t, err)
	require.EqualValues(t, 2, count)

	gone := resource(1)
	gone.Document.Deleted, gone.Sources = true, []string{"f2"}
	require.NoError(t, x.Replace(ctx, []domain.Indexed{gone}))
	count, err = x.Count()
	require.NoError(t, err)
	require.Zero(t, count, "a deleted document leaves whole")
}

// BenchmarkReplace measures the CPU an event's batch costs an index of
// 1,000 chunks, background merging and persisting included (cpu-ms/op,
// counted until the index is closed), with this package's tuning, with
// batches that wait for the disk (synced), and with bleve's defaults:
//
//	go test -run '^$' -bench Replace -benchtime 1000x ./pkg/adapters/bleveindex/
//
// document is a resource created (one chunk); upload is 100 KiB of text
// in 340 chunks, replacing the resource's earlier ones.
func BenchmarkReplace(b *testing.B) {
	shapes := []struct {
		name string
		next func(i int) domain.Indexed
	}{
		{"document", func(i int) domain.Indexed { return resource(1000+i, words(1000+i)) }},
		{"upload", func(i int) domain.Indexed {
			texts := make([]string, 340)
			for c := range texts {
				texts[c] = words(i*340 + c)[:300]
			}
			return resource(i%100, texts...)
		}},
	}
	tunings := []struct {
		name  string
		floor int
		bump  int
		// synced: each batch waits until it is on disk, as before ADR 0037.
		synced bool
	}{{"tuned", segmentFloor, 0, false}, {"synced", segmentFloor, 0, true}, {"bleve-defaults", 0, 100, true}}
	for _, shape := range shapes {
		for _, tuning := range tunings {
			b.Run(shape.name+"/"+tuning.name, func(b *testing.B) {
				b.Cleanup(func() { zapx.NewSegmentBufferNumResultsBump = 0 })
				zapx.NewSegmentBufferNumResultsBump = tuning.bump
				cfg := scorchConfig(tuning.floor)
				if tuning.synced {
					// As before ADR 0037 and ADR 0057.
					cfg["unsafe_batch"] = false
					delete(cfg, "scorchPersisterOptions")
				}
				x, err := newIndex(b.TempDir()+"/idx", cfg, &pacer{})
				require.NoError(b, err)
				ctx := context.Background()
				seed := make([]domain.Indexed, 1000)
				for i := range seed {
					seed[i] = resource(i, words(i))
				}
				require.NoError(b, x.Replace(ctx, seed))
				start := testinfra.CPUTime(b)
				b.ResetTimer()
				for i := range b.N {
					require.NoError(b, x.Replace(ctx, []domain.Indexed{shape.next(i)}))
				}
				require.NoError(b, x.Close())
				b.StopTimer()
				b.ReportMetric(float64(testinfra.CPUTime(b)-start)/float64(b.N)/1e6, "cpu-ms/op")
			})
		}
	}
}

// BenchmarkReplacePaced feeds one-document batches of the create journey's
// notes at its rate (two a create, 200 creates a second: one every 2.5 ms)
// instead of back to back, so that scorch's persister sees what it sees in
// the platform. It reports the CPU a batch with the persister's and merger's
// counted (the index is closed before the clock stops), how many segments
// a query met on average, and a query's time while the batches arrive.
func BenchmarkReplacePaced(b *testing.B) {
	for _, nap := range []time.Duration{0, persisterNap, 2 * persisterNap} {
		b.Run(fmt.Sprintf("nap=%v", nap), func(b *testing.B) {
			cfg := scorchConfig(segmentFloor)
			cfg["scorchPersisterOptions"] = persisterOptions(nap)
			x, err := newIndex(b.TempDir()+"/idx", cfg, &pacer{})
			require.NoError(b, err)
			ctx := context.Background()
			note := func(n int) domain.Indexed {
				return resource(n, fmt.Sprintf("Observations of the word%d at dusk, and of the pangolin.", n))
			}
			seed := make([]domain.Indexed, 1000)
			for i := range seed {
				seed[i] = note(i)
			}
			require.NoError(b, x.Replace(ctx, seed))
			tick := time.NewTicker(2500 * time.Microsecond)
			defer tick.Stop()
			var queries, segments int
			var queryTime time.Duration
			start := testinfra.CPUTime(b)
			b.ResetTimer()
			for i := range b.N {
				<-tick.C
				n := 1000 + i
				require.NoError(b, x.Replace(ctx, []domain.Indexed{note(n)}))
				if i%20 == 19 {
					segments += int(rootSegments(b, x))
					t0 := time.Now()
					hits, err := x.Search(ctx, domain.Caller{Subject: "someone"}, fmt.Sprintf("word%d pangolin", n-10), domain.Filters{}, 20)
					queryTime += time.Since(t0)
					require.NoError(b, err)
					require.NotEmpty(b, hits)
					queries++
				}
			}
			require.NoError(b, x.Close())
			b.StopTimer()
			b.ReportMetric(float64(testinfra.CPUTime(b)-start)/float64(b.N)/1e6, "cpu-ms/op")
			if queries > 0 {
				b.ReportMetric(float64(segments)/float64(queries), "segments")
				b.ReportMetric(float64(queryTime)/float64(queries)/1e6, "query-ms")
			}
		})
	}
}

// Highlights marks the query's words in the chunks asked for, and only
// in those: not in other chunks with the same words, nor in a chunk
// asked for that lacks them.
func TestHighlightsMarkOnlyTheChunksAskedFor(t *testing.T) {
	x := openIndex(t)
	ctx := context.Background()
	var batch []domain.Indexed
	for n := range 300 {
		batch = append(batch, resource(n, fmt.Sprintf("the kestrel hunts voles by the river, note %d", n), "nothing of birds here"))
	}
	require.NoError(t, x.Replace(ctx, batch))
	got, err := x.Highlights(ctx, "kestrel voles", []string{"r000007-0", "r000250-0", "r000007-1", "r999999-0"})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{
		"r000007-0": {"the <mark>kestrel</mark> hunts <mark>voles</mark> by the river, note 7"},
		"r000250-0": {"the <mark>kestrel</mark> hunts <mark>voles</mark> by the river, note 250"},
	}, got)
}

// BenchmarkHighlights marks a page of 20 hits for a word that is in every
// one of 20,000 chunks, as a search's hits are marked after ranking.
func BenchmarkHighlights(b *testing.B) {
	x := openIndex(b)
	ctx := context.Background()
	var batch []domain.Indexed
	for n := range 20_000 {
		batch = append(batch, resource(n, words(n)))
		if len(batch) == 1000 {
			require.NoError(b, x.Replace(ctx, batch))
			batch = batch[:0]
		}
	}
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%06d-0", i*997)
	}
	for b.Loop() {
		got, err := x.Highlights(ctx, "river word5", ids)
		require.NoError(b, err)
		require.Len(b, got, len(ids))
	}
}
