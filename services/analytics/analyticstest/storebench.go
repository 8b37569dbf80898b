// Package analyticstest is test support for the analytics stores, kept out
// of the core: the benchmarks every store runs, so that each adapter's
// figures measure the same thing (batched ingestion, audit-chain
// verification, report latency over 10,000,000 generated usage records),
// and the audit log's trust-anchor tamper scenarios (tampering.go).
package analyticstest

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/app/porttest"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// Records is how many usage records the benchmark ingests.
const Records = 10_000_000

// Ingest measures batched ingestion: 5,000 records per batch, over five
// minutes of traffic with ~1,000 distinct roll-up keys, into raw records
// and the three roll-ups.
func Ingest(b *testing.B, store app.UsageStore) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 9))
	start := time.Now().UTC().Truncate(time.Minute)
	total := 0
	for b.Loop() {
		n, err := store.Ingest(ctx, porttest.UsageRecords(rng, 5000, start))
		require.NoError(b, err)
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
}

// Verify measures reading and verifying the audit chain: 20,000 entries
// per operation, in pages of 10,000.
func Verify(b *testing.B, l app.AuditLog) {
	ctx := context.Background()
	for range 20 {
		_, _, err := l.Append(ctx, porttest.AuditEvents(1000, "bench"))
		require.NoError(b, err)
	}
	entries := 0
	for b.Loop() {
		for lo := int64(1); lo <= 20000; lo += 10000 {
			prev, page, err := l.Entries(ctx, lo, lo+9999)
			require.NoError(b, err)
			require.Nil(b, domain.Verify(prev, lo, page, nil, nil))
			entries += len(page)
		}
	}
	b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "entries/s")
}

// Reports ingests Records usage records over 30 days into store, in time
// order and batches of 5,000, then measures each report the API serves.
func Reports(b *testing.B, store app.UsageStore) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(10, 10))
	end := time.Now().UTC().Truncate(24 * time.Hour)
	start := end.AddDate(0, 0, -30)
	const batch = 5000
	period := 30 * 24 * time.Hour / (Records / batch)
	t0 := time.Now()
	for n := 0; n < Records; n += batch {
		// In time order, as the gateway emits them: each batch covers the
		// next 1/2,000 of the 30 days (about 22 minutes).
		records := porttest.UsageRecords(rng, batch, start)
		from, span := start.Add(time.Duration(n/batch)*period), period
		for i := range records {
			records[i].Time = from.Add(time.Duration(rng.Int64N(int64(span))))
		}
		_, err := store.Ingest(ctx, records)
		require.NoError(b, err)
	}
	b.Logf("ingested %d records in %s (%.0f records/s)", Records, time.Since(t0).Round(time.Second), Records/time.Since(t0).Seconds())
	svc := app.New(app.Deps{Usage: store})
	admin := domain.Caller{Subject: "root", Scopes: []string{domain.ScopeAdmin}}
	user := domain.Caller{Subject: "u1", Scopes: []string{domain.ScopeRead}}
	for _, c := range []struct {
		name   string
		caller domain.Caller
		q      app.UsageQuery
	}{
		{"30d-by-day-route", admin, app.UsageQuery{From: start, To: end, Granularity: domain.Day, GroupBy: "route"}},
		{"30d-by-hour", admin, app.UsageQuery{From: start, To: end, Granularity: domain.Hour}},
		{"30d-by-hour-one-user", user, app.UsageQuery{From: start, To: end, Granularity: domain.Hour}},
		{"1d-by-minute", admin, app.UsageQuery{From: end.AddDate(0, 0, -1), To: end, Granularity: domain.Minute}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				points, err := svc.UsageReport(ctx, c.caller, c.q)
				require.NoError(b, err)
				require.NotEmpty(b, points)
			}
		})
	}
}
