package porttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/sketch"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
	"github.com/lattice-platform/lattice/services/analytics/series"
)

// UsageRecords makes n records spread over a few minutes, routes,
// statuses and identities.
func UsageRecords(rng *rand.Rand, n int, start time.Time) []domain.UsageRecord {
	routes := []string{"/v1/resources", "/v1/search", "/v1/users"}
	statuses := []int{200, 200, 200, 201, 304, 404, 500, 503}
	out := make([]domain.UsageRecord, n)
	for i := range out {
		out[i] = domain.UsageRecord{RequestID: newID(), Route: routes[rng.IntN(len(routes))], Method: []string{"GET", "POST"}[rng.IntN(2)],
			Path: "/x", Status: statuses[rng.IntN(len(statuses))], LatencyMS: rng.ExpFloat64() * 30, BytesIn: int64(rng.IntN(500)),
			BytesOut: int64(rng.IntN(5000)), Identity: fmt.Sprintf("u%d", rng.IntN(4)), ClientID: []string{"", "cli"}[rng.IntN(2)],
			Time: start.Add(time.Duration(rng.IntN(5*60_000)) * time.Millisecond)}
	}
	return out
}

// UsageStore checks a app.UsageStore: idempotent ingestion, roll-ups
// that agree with a recomputation from the raw records, and retention.
func UsageStore(t *testing.T, newStore func(t *testing.T) app.UsageStore) {
	ctx := context.Background()
	start := now().Truncate(time.Minute)

	t.Run("duplicates never double-count and roll-ups agree with the raw records", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		rng := rand.New(rand.NewPCG(1, 2))
		records := UsageRecords(rng, 600, start)
		n, err := s.Ingest(ctx, records[:400])
		require.NoError(t, err)
		require.Equal(t, 400, n)
		n, err = s.Ingest(ctx, records) // 400 redelivered, 200 new
		require.NoError(t, err)
		require.Equal(t, 200, n)
		n, err = s.Ingest(ctx, append(records[590:], records[590:]...)) // duplicates within a batch
		require.NoError(t, err)
		require.Zero(t, n)
		// Concurrent redeliveries of overlapping batches, and concurrent new
		// records falling into the same roll-ups.
		more := UsageRecords(rng, 400, start)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Ingest(ctx, records[w*100:w*100+250])
				require.NoError(t, err)
				_, err = s.Ingest(ctx, more[w*100:w*100+100])
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		records = append(records, more...)

		raw, err := s.Raw(ctx, start, start.Add(10*time.Minute))
		require.NoError(t, err)
		require.Len(t, raw, 1000)
		for _, step := range domain.Steps {
			rollups, err := s.Rollups(ctx, step, start.Add(-48*time.Hour), start.Add(48*time.Hour), "")
			require.NoError(t, err)
			type totals struct {
				requests, errors, in, out int64
				lat                       sketch.Sketch
			}
			want := map[domain.RollupKey]*totals{}
			for _, r := range raw {
				k := domain.KeyOf(r, step)
				if want[k] == nil {
					want[k] = &totals{lat: sketch.New()}
				}
				w := want[k]
				w.requests++
				if r.Failed() {
					w.errors++
				}
				w.in += r.BytesIn
				w.out += r.BytesOut
				w.lat.Add(r.LatencyMS)
			}
			require.Len(t, rollups, len(want), "step %s", step)
			var sum int64
			for _, r := range rollups {
				w := want[r.Key]
				require.NotNil(t, w, "%+v", r.Key)
				require.Equal(t, w.requests, r.Requests)
				require.Equal(t, w.errors, r.Errors)
				require.Equal(t, w.in, r.BytesIn)
				require.Equal(t, w.out, r.BytesOut)
				got, err := sketch.Decode(r.Latency)
				require.NoError(t, err)
				require.Equal(t, w.lat.Count(), got.Count())
				for _, q := range []float64{0.5, 0.95, 0.99} {
					require.InDelta(t, w.lat.Quantile(q), got.Quantile(q), 1e-9)
				}
				sum += r.Requests
			}
			require.EqualValues(t, 1000, sum, "step %s", step)
		}

		// Series are the roll-ups merged per bucket and group, for every
		// grouping and for one identity.
		for _, identity := range []string{"", "u2"} {
			all, err := s.Rollups(ctx, domain.Minute, start, start.Add(10*time.Minute), identity)
			require.NoError(t, err)
			for _, g := range []domain.Grouping{domain.NoGrouping, domain.ByRoute, domain.ByIdentity, domain.ByClient, domain.ByStatus} {
				want, err := series.Merge(all, g)
				require.NoError(t, err)
				got, err := s.Series(ctx, domain.Minute, start, start.Add(10*time.Minute), identity, g)
				require.NoError(t, err)
				require.Len(t, got, len(want), "grouping %q", g)
				for i := range want {
					require.Equal(t, want[i].Key, got[i].Key, "grouping %q", g)
					require.Equal(t, want[i].Requests, got[i].Requests)
					require.Equal(t, want[i].Errors, got[i].Errors)
					require.Equal(t, want[i].BytesIn, got[i].BytesIn)
					require.Equal(t, want[i].BytesOut, got[i].BytesOut)
					w, err := sketch.Decode(want[i].Latency)
					require.NoError(t, err)
					have, err := sketch.Decode(got[i].Latency)
					require.NoError(t, err)
					require.Equal(t, w.Count(), have.Count())
					for _, q := range []float64{0.5, 0.95, 0.99} {
						require.InDelta(t, w.Quantile(q), have.Quantile(q), 1e-9)
					}
				}
			}
		}

		mine, err := s.Rollups(ctx, domain.Minute, start, start.Add(10*time.Minute), "u1")
		require.NoError(t, err)
		require.NotEmpty(t, mine)
		for _, r := range mine {
			require.Equal(t, "u1", r.Key.Identity)
		}
	})

	t.Run("top resources count successful reads once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a, b := newID(), newID()
		var records []domain.UsageRecord
		read := func(id string, n int, status int, method string) {
			for range n {
				records = append(records, domain.UsageRecord{RequestID: newID(), Route: "/v1/resources", Method: method,
					Path: "/v1/resources/" + id, Status: status, Time: start})
			}
		}
		read(a, 5, 200, "GET")
		read(b, 8, 200, "GET")
		read(a, 7, 404, "GET")   // failed reads do not count
		read(b, 3, 200, "PATCH") // writes do not count
		_, err := s.Ingest(ctx, records)
		require.NoError(t, err)
		_, err = s.Ingest(ctx, records[:6]) // redelivered
		require.NoError(t, err)
		top, err := s.TopResources(ctx, start, start, 10)
		require.NoError(t, err)
		require.Equal(t, []domain.ResourceReads{{ResourceID: b, Reads: 8}, {ResourceID: a, Reads: 5}}, top)
		n, err := s.ResourceReads(ctx, a, start.AddDate(0, 0, -1), start)
		require.NoError(t, err)
		require.EqualValues(t, 5, n)
		n, err = s.ResourceReads(ctx, newID(), start, start)
		require.NoError(t, err)
		require.Zero(t, n)
		one, err := s.TopResources(ctx, start, start, 1)
		require.NoError(t, err)
		require.Len(t, one, 1)
		none, err := s.TopResources(ctx, start.AddDate(0, 0, 2), start.AddDate(0, 0, 3), 10)
		require.NoError(t, err)
		require.Empty(t, none)
	})

	t.Run("retention", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		rng := rand.New(rand.NewPCG(3, 4))
		old := UsageRecords(rng, 50, start.Add(-48*time.Hour))
		recent := UsageRecords(rng, 50, start)
		_, err := s.Ingest(ctx, append(old, recent...))
		require.NoError(t, err)
		raw, rollups, err := s.Expire(ctx, start.Add(-24*time.Hour), start.Add(-72*time.Hour))
		require.NoError(t, err)
		require.EqualValues(t, 50, raw)
		require.Zero(t, rollups, "roll-ups are kept longer")
		left, err := s.Raw(ctx, start.Add(-72*time.Hour), start.Add(time.Hour))
		require.NoError(t, err)
		require.Len(t, left, 50)
		kept, err := s.Rollups(ctx, domain.Minute, start.Add(-72*time.Hour), start.Add(-24*time.Hour), "")
		require.NoError(t, err)
		require.NotEmpty(t, kept)
	})
}
