package analyticsstore

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/analyticsstore/internal/analyticsdb"
	"github.com/lattice-platform/lattice/pkg/sketch"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
	"github.com/lattice-platform/lattice/services/analytics/series"
)

// UsageStore is the PostgreSQL app.UsageStore: raw records with the
// request id as key, and per-minute roll-ups that reports read instead of
// scanning raw records (the mistake that makes analytics on PostgreSQL
// slow as data grows).
type UsageStore struct {
	pool *pgxpool.Pool
	q    *analyticsdb.Queries
}

var _ app.UsageStore = (*UsageStore)(nil)

// NewUsageStore returns the store over pool (migrated with schema.Analytics).
func NewUsageStore(pool *pgxpool.Pool) *UsageStore {
	return &UsageStore{pool: pool, q: analyticsdb.New(pool)}
}

// Ingest inserts the batch with one statement, learns which records were
// new, and folds exactly those into their roll-ups: one read and one
// write for all the batch's roll-ups. Ingests hold a transaction-scoped
// advisory lock, because merging latency sketches is a read-modify-write
// that two writers of the same new roll-up would otherwise race on.
func (s *UsageStore) Ingest(ctx context.Context, records []domain.UsageRecord) (int, error) {
	if len(records) == 0 {
		return 0, nil
	}
	p := analyticsdb.InsertUsageRawParams{}
	for _, r := range records {
		p.RequestIds, p.Ats, p.Routes = append(p.RequestIds, r.RequestID), append(p.Ats, r.Time.UTC()), append(p.Routes, r.Route)
		p.Methods, p.Paths, p.Statuses = append(p.Methods, r.Method), append(p.Paths, r.Path), append(p.Statuses, int32(r.Status))
		p.Latencies, p.BytesIns, p.BytesOuts = append(p.Latencies, r.LatencyMS), append(p.BytesIns, r.BytesIn), append(p.BytesOuts, r.BytesOut)
		p.Identities, p.ClientIds = append(p.Identities, r.Identity), append(p.ClientIds, r.ClientID)
	}
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if err := q.LockUsage(ctx); err != nil {
			return err
		}
		inserted, err := q.InsertUsageRaw(ctx, p)
		if err != nil {
			return err
		}
		n = len(inserted)
		if n == 0 {
			return nil
		}
		fresh := make(map[string]bool, len(inserted))
		for _, id := range inserted {
			fresh[id] = true
		}
		type agg struct {
			rollup domain.Rollup
			lat    sketch.Sketch
		}
		byKey := map[domain.RollupKey]*agg{}
		for _, r := range records {
			if !fresh[r.RequestID] {
				continue
			}
			delete(fresh, r.RequestID) // a request id twice in one batch counts once
			for _, step := range domain.Steps {
				k := domain.KeyOf(r, step)
				a, ok := byKey[k]
				if !ok {
					a = &agg{rollup: domain.Rollup{Key: k}, lat: sketch.New()}
					byKey[k] = a
				}
				a.rollup.Requests++
				if r.Failed() {
					a.rollup.Errors++
				}
				a.rollup.BytesIn += r.BytesIn
				a.rollup.BytesOut += r.BytesOut
				a.lat.Add(r.LatencyMS)
			}
		}
		if err := addResourceReads(ctx, q, records, inserted); err != nil {
			return err
		}
		keys := make([]domain.RollupKey, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, domain.CompareKeys)
		var rp analyticsdb.ReadRollupsParams
		for _, k := range keys {
			rp.Steps, rp.Buckets = append(rp.Steps, string(k.Step)), append(rp.Buckets, k.Start)
			rp.Routes, rp.Methods = append(rp.Routes, k.Route), append(rp.Methods, k.Method)
			rp.StatusClasses, rp.Identities, rp.ClientIds = append(rp.StatusClasses, int16(k.StatusClass)), append(rp.Identities, k.Identity), append(rp.ClientIds, k.ClientID)
		}
		stored, err := q.ReadRollups(ctx, rp)
		if err != nil {
			return err
		}
		for _, cur := range stored {
			a := byKey[domain.RollupKey{Step: domain.Granularity(cur.Step), Start: cur.Bucket.UTC(), Route: cur.Route, Method: cur.Method,
				StatusClass: int(cur.StatusClass), Identity: cur.Identity, ClientID: cur.ClientID}]
			if a == nil {
				continue
			}
			old, err := sketch.Decode(cur.Latency)
			if err != nil {
				return err
			}
			if err := a.lat.Merge(old); err != nil {
				return err
			}
			a.rollup.Requests += cur.Requests
			a.rollup.Errors += cur.Errors
			a.rollup.BytesIn += cur.BytesIn
			a.rollup.BytesOut += cur.BytesOut
		}
		wp := analyticsdb.WriteRollupsParams{Steps: rp.Steps, Buckets: rp.Buckets, Routes: rp.Routes, Methods: rp.Methods, StatusClasses: rp.StatusClasses,
			Identities: rp.Identities, ClientIds: rp.ClientIds}
		for _, k := range keys {
			a := byKey[k]
			wp.Requests, wp.Errors = append(wp.Requests, a.rollup.Requests), append(wp.Errors, a.rollup.Errors)
			wp.BytesIns, wp.BytesOuts = append(wp.BytesIns, a.rollup.BytesIn), append(wp.BytesOuts, a.rollup.BytesOut)
			wp.Latencies = append(wp.Latencies, a.lat.Encode())
		}
		return q.WriteRollups(ctx, wp)
	})
	return n, postgres.Translate(err)
}

// addResourceReads counts the new records that read a resource, per day.
func addResourceReads(ctx context.Context, q *analyticsdb.Queries, records []domain.UsageRecord, inserted []string) error {
	fresh := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		fresh[id] = true
	}
	type key struct {
		day time.Time
		id  string
	}
	counts := map[key]int64{}
	for _, r := range records {
		if !fresh[r.RequestID] {
			continue
		}
		delete(fresh, r.RequestID)
		if id, ok := domain.ResourceRead(r); ok {
			counts[key{r.Time.UTC().Truncate(24 * time.Hour), id}]++
		}
	}
	if len(counts) == 0 {
		return nil
	}
	var p analyticsdb.AddResourceReadsParams
	for k, n := range counts {
		p.Days = append(p.Days, pgtype.Date{Time: k.day, Valid: true})
		p.ResourceIds, p.Reads = append(p.ResourceIds, k.id), append(p.Reads, n)
	}
	return q.AddResourceReads(ctx, p)
}

// TopResources ranks resources by reads.
func (s *UsageStore) TopResources(ctx context.Context, since, until time.Time, limit int) ([]domain.ResourceReads, error) {
	rows, err := s.q.TopResources(ctx, analyticsdb.TopResourcesParams{Since: pgtype.Date{Time: since.UTC(), Valid: true},
		Until: pgtype.Date{Time: until.UTC(), Valid: true}, MaxRows: int32(limit)})
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.ResourceReads, len(rows))
	for i, r := range rows {
		out[i] = domain.ResourceReads{ResourceID: r.ResourceID, Reads: r.Reads}
	}
	return out, nil
}

// ResourceReads counts one resource's reads.
func (s *UsageStore) ResourceReads(ctx context.Context, resourceID string, since, until time.Time) (int64, error) {
	n, err := s.q.ResourceReads(ctx, analyticsdb.ResourceReadsParams{ResourceID: resourceID,
		Since: pgtype.Date{Time: since.UTC(), Valid: true}, Until: pgtype.Date{Time: until.UTC(), Valid: true}})
	return n, postgres.Translate(err)
}

// Rollups returns roll-ups of one step in a range.
func (s *UsageStore) Rollups(ctx context.Context, step domain.Granularity, since, until time.Time, identity string) ([]domain.Rollup, error) {
	rows, err := s.q.Rollups(ctx, analyticsdb.RollupsParams{Step: string(step), Since: since.UTC(), Until: until.UTC(), Identity: identity})
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.Rollup, len(rows))
	for i, r := range rows {
		out[i] = domain.Rollup{Key: domain.RollupKey{Step: domain.Granularity(r.Step), Start: r.Bucket.UTC(), Route: r.Route, Method: r.Method,
			StatusClass: int(r.StatusClass), Identity: r.Identity, ClientID: r.ClientID}, Requests: r.Requests, Errors: r.Errors, BytesIn: r.BytesIn, BytesOut: r.BytesOut,
			Latency: r.Latency}
	}
	return out, nil
}

// Raw returns raw records in a range.
func (s *UsageStore) Raw(ctx context.Context, since, until time.Time) ([]domain.UsageRecord, error) {
	rows, err := s.q.RawUsage(ctx, analyticsdb.RawUsageParams{Since: since.UTC(), Until: until.UTC()})
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.UsageRecord, len(rows))
	for i, r := range rows {
		out[i] = domain.UsageRecord{RequestID: r.RequestID, Time: r.At.UTC(), Route: r.Route, Method: r.Method, Path: r.Path,
			Status: int(r.Status), LatencyMS: r.LatencyMs, BytesIn: r.BytesIn, BytesOut: r.BytesOut, Identity: r.Identity, ClientID: r.ClientID}
	}
	return out, nil
}

// Expire applies the retention periods.
func (s *UsageStore) Expire(ctx context.Context, rawCutoff, rollupCutoff time.Time) (int64, int64, error) {
	raw, err := s.q.DeleteRawBefore(ctx, rawCutoff.UTC())
	if err != nil {
		return 0, 0, postgres.Translate(err)
	}
	rollups, err := s.q.DeleteRollupsBefore(ctx, rollupCutoff.UTC())
	if err != nil {
		return raw, 0, postgres.Translate(err)
	}
	_, err = s.q.DeleteResourceReadsBefore(ctx, pgtype.Date{Time: rollupCutoff.UTC().Truncate(24 * time.Hour), Valid: true})
	return raw, rollups, postgres.Translate(err)
}

// Series merges the roll-ups per bucket and group in Go: PostgreSQL cannot
// merge the sketches.
func (s *UsageStore) Series(ctx context.Context, step domain.Granularity, since, until time.Time, identity string, g domain.Grouping) ([]domain.Rollup, error) {
	rollups, err := s.Rollups(ctx, step, since, until, identity)
	if err != nil {
		return nil, err
	}
	return series.Merge(rollups, g)
}
