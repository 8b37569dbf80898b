package clickhouse

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/sketch"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// UsageStore is the ClickHouse app.UsageStore. Raw records go to
// usage_raw; materialised views fold every insert into the minute, hour
// and day roll-ups and the per-day resource reads in the same request, so
// there is no read-modify-write and reports read only roll-ups.
//
// ClickHouse has no unique keys, so ingestion first asks which request ids
// are already stored and inserts only the others. That check and the
// insert are serialised within the process; across processes, run one
// ingesting replica per store (the analytics consumer's batches are
// handled one at a time).
type UsageStore struct {
	c  *Client
	mu sync.Mutex
}

var _ app.UsageStore = (*UsageStore)(nil)

// NewUsageStore returns the store on c (migrated with schema.ClickHouse).
func NewUsageStore(c *Client) *UsageStore { return &UsageStore{c: c} }

type rawRow struct {
	RequestID    string  `json:"request_id"`
	AtNS         int64   `json:"at_ns"`
	Route        string  `json:"route"`
	Method       string  `json:"method"`
	Path         string  `json:"path"`
	Status       int     `json:"status"`
	LatencyMS    float64 `json:"latency_ms"`
	BytesIn      int64   `json:"bytes_in"`
	BytesOut     int64   `json:"bytes_out"`
	Identity     string  `json:"identity"`
	ClientID     string  `json:"client_id"`
	LatencyBin   int32   `json:"latency_bin"`
	ReadResource string  `json:"read_resource"`
}

// idLookupChunk bounds the IN list of one duplicate check.
const idLookupChunk = 10_000

// Ingest stores the records whose request ids are new.
func (s *UsageStore) Ingest(ctx context.Context, records []domain.UsageRecord) (int, error) {
	if len(records) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(records))
	seen := make(map[string]bool, len(records))
	lo, hi := records[0].Time, records[0].Time
	for _, r := range records {
		if !seen[r.RequestID] {
			seen[r.RequestID] = true
			ids = append(ids, r.RequestID)
		}
		lo, hi = minTime(lo, r.Time), maxTime(hi, r.Time)
	}
	// A request id always comes with the same time, so the lookup can be
	// limited to the batch's time span (partition pruning).
	for i := 0; i < len(ids); i += idLookupChunk {
		var stored []struct {
			ID string `json:"request_id"`
		}
		chunk := ids[i:min(i+idLookupChunk, len(ids))]
		if err := query(ctx, s.c, "SELECT request_id FROM usage_raw WHERE at >= toDateTime("+strconv.FormatInt(lo.Unix()-1, 10)+
			") AND at <= toDateTime("+strconv.FormatInt(hi.Unix()+1, 10)+") AND request_id IN ("+quoteList(chunk)+")", &stored); err != nil {
			return 0, err
		}
		for _, st := range stored {
			seen[st.ID] = false
		}
	}
	rows := make([]rawRow, 0, len(ids))
	for _, r := range records {
		if !seen[r.RequestID] {
			continue
		}
		seen[r.RequestID] = false // a request id twice in one batch counts once
		res, _ := domain.ResourceRead(r)
		t := r.Time.UTC()
		rows = append(rows, rawRow{RequestID: r.RequestID, AtNS: t.UnixNano(), Route: r.Route, Method: r.Method,
			Path: r.Path, Status: r.Status, LatencyMS: r.LatencyMS, BytesIn: r.BytesIn, BytesOut: r.BytesOut, Identity: r.Identity,
			ClientID: r.ClientID, LatencyBin: sketch.Bin(r.LatencyMS), ReadResource: res})
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if err := insert(ctx, s.c, "usage_raw", rows); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// Rollups sums the partial roll-up rows of each key, which ClickHouse may
// not have merged yet.
func (s *UsageStore) Rollups(ctx context.Context, step domain.Granularity, since, until time.Time, identity string) ([]domain.Rollup, error) {
	return s.rollups(ctx, step, since, until, identity, []string{"route", "method", "status_class", "identity", "client_id"})
}

// Series groups in the database, so a report over many keys returns one
// row per point: ClickHouse sums the counts and the latency bins.
func (s *UsageStore) Series(ctx context.Context, step domain.Granularity, since, until time.Time, identity string, g domain.Grouping) ([]domain.Rollup, error) {
	cols := map[domain.Grouping][]string{domain.NoGrouping: nil, domain.ByRoute: {"route"}, domain.ByIdentity: {"identity"},
		domain.ByClient: {"client_id"}, domain.ByStatus: {"status_class"}}[g]
	return s.rollups(ctx, step, since, until, identity, cols)
}

// rollups sums roll-up rows of one step per bucket and the key columns
// cols; the other dimensions are left zero.
func (s *UsageStore) rollups(ctx context.Context, step domain.Granularity, since, until time.Time, identity string, cols []string) ([]domain.Rollup, error) {
	group := strings.Join(append([]string{"bucket"}, cols...), ", ")
	var b strings.Builder
	b.WriteString("SELECT toUnixTimestamp(bucket) AS ts")
	for _, c := range cols {
		b.WriteString(", " + c)
	}
	b.WriteString(`, sum(requests) AS n, sum(errors) AS errs, sum(bytes_in) AS bin, sum(bytes_out) AS bout,
 sumMap(latencyMap.bin, latencyMap.count) AS lat FROM usage_rollup WHERE step = `)
	b.WriteString(quote(string(step)) + " AND bucket >= " + seconds(since) + " AND bucket < " + seconds(until))
	if identity != "" {
		b.WriteString(" AND identity = " + quote(identity))
	}
	b.WriteString(" GROUP BY " + group + " ORDER BY " + group)
	var rows []struct {
		TS          int64      `json:"ts"`
		Route       string     `json:"route"`
		Method      string     `json:"method"`
		StatusClass int        `json:"status_class"`
		Identity    string     `json:"identity"`
		ClientID    string     `json:"client_id"`
		N           int64      `json:"n"`
		Errs        int64      `json:"errs"`
		BytesIn     int64      `json:"bin"`
		BytesOut    int64      `json:"bout"`
		Lat         [2][]int64 `json:"lat"`
	}
	if err := query(ctx, s.c, b.String(), &rows); err != nil {
		return nil, err
	}
	out := make([]domain.Rollup, len(rows))
	for i, r := range rows {
		bins, counts := make([]int32, len(r.Lat[0])), make([]uint64, len(r.Lat[1]))
		for j, v := range r.Lat[0] {
			bins[j] = int32(v)
		}
		for j, v := range r.Lat[1] {
			counts[j] = uint64(v)
		}
		out[i] = domain.Rollup{Key: domain.RollupKey{Step: step, Start: time.Unix(r.TS, 0).UTC(), Route: r.Route, Method: r.Method,
			StatusClass: r.StatusClass, Identity: r.Identity, ClientID: r.ClientID}, Requests: r.N, Errors: r.Errs,
			BytesIn: r.BytesIn, BytesOut: r.BytesOut, Latency: sketch.FromBins(bins, counts).Encode()}
	}
	return out, nil
}

// TopResources ranks resources by reads.
func (s *UsageStore) TopResources(ctx context.Context, since, until time.Time, limit int) ([]domain.ResourceReads, error) {
	var rows []struct {
		ID    string `json:"resource_id"`
		Reads int64  `json:"reads"`
	}
	if err := query(ctx, s.c, "SELECT resource_id, sum(reads) AS reads FROM usage_resource_day WHERE day >= "+day(since)+" AND day <= "+day(until)+
		" GROUP BY resource_id ORDER BY reads DESC, resource_id LIMIT "+strconv.Itoa(max(limit, 0)), &rows); err != nil {
		return nil, err
	}
	out := make([]domain.ResourceReads, len(rows))
	for i, r := range rows {
		out[i] = domain.ResourceReads{ResourceID: r.ID, Reads: r.Reads}
	}
	return out, nil
}

// ResourceReads counts one resource's reads.
func (s *UsageStore) ResourceReads(ctx context.Context, resourceID string, since, until time.Time) (int64, error) {
	var rows []struct {
		Reads int64 `json:"reads"`
	}
	err := query(ctx, s.c, "SELECT sum(reads) AS reads FROM usage_resource_day WHERE resource_id = "+quote(resourceID)+
		" AND day >= "+day(since)+" AND day <= "+day(until), &rows)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	return rows[0].Reads, nil
}

// Raw returns raw records in a range.
func (s *UsageStore) Raw(ctx context.Context, since, until time.Time) ([]domain.UsageRecord, error) {
	var rows []rawRow
	if err := query(ctx, s.c, "SELECT * FROM usage_raw WHERE at >= toDateTime("+strconv.FormatInt(max(since.Unix(), 0), 10)+") AND at <= toDateTime("+
		strconv.FormatInt(max(until.Unix(), 0), 10)+") AND at_ns >= "+strconv.FormatInt(since.UnixNano(), 10)+" AND at_ns < "+
		strconv.FormatInt(until.UnixNano(), 10)+" ORDER BY at_ns, request_id", &rows); err != nil {
		return nil, err
	}
	out := make([]domain.UsageRecord, len(rows))
	for i, r := range rows {
		out[i] = domain.UsageRecord{RequestID: r.RequestID, Time: time.Unix(0, r.AtNS).UTC(), Route: r.Route, Method: r.Method, Path: r.Path,
			Status: r.Status, LatencyMS: r.LatencyMS, BytesIn: r.BytesIn, BytesOut: r.BytesOut, Identity: r.Identity, ClientID: r.ClientID}
	}
	return out, nil
}

// Expire deletes expired rows with ALTER … DELETE and waits for it; the
// counts are taken just before.
func (s *UsageStore) Expire(ctx context.Context, rawCutoff, rollupCutoff time.Time) (int64, int64, error) {
	raw, err := s.deleteWhere(ctx, "usage_raw", "at_ns < "+strconv.FormatInt(rawCutoff.UnixNano(), 10), "count()")
	if err != nil {
		return 0, 0, err
	}
	// Roll-up rows are counted per key, as if merged.
	rollups, err := s.deleteWhere(ctx, "usage_rollup", "bucket < "+seconds(rollupCutoff),
		"uniqExact(step, bucket, route, method, status_class, identity, client_id)")
	if err != nil {
		return raw, 0, err
	}
	_, err = s.deleteWhere(ctx, "usage_resource_day", "day < "+day(rollupCutoff), "count()")
	return raw, rollups, err
}

func (s *UsageStore) deleteWhere(ctx context.Context, table, cond, count string) (int64, error) {
	var n []struct {
		N int64 `json:"n"`
	}
	if err := query(ctx, s.c, "SELECT "+count+" AS n FROM "+table+" WHERE "+cond, &n); err != nil {
		return 0, err
	}
	if len(n) == 0 || n[0].N == 0 {
		return 0, nil
	}
	if err := s.c.exec(ctx, "ALTER TABLE "+table+" DELETE WHERE "+cond); err != nil {
		return 0, err
	}
	return n[0].N, s.c.waitMutations(ctx, table)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
