package fake

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/sketch"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
	"github.com/lattice-platform/lattice/services/analytics/series"
)

// UsageStore is the in-memory app.UsageStore.
type UsageStore struct {
	mu      sync.Mutex
	raw     map[string]domain.UsageRecord
	rollups map[domain.RollupKey]domain.Rollup
	reads   map[readKey]int64
}

type readKey struct {
	day time.Time
	id  string
}

var _ app.UsageStore = (*UsageStore)(nil)

// NewUsageStore returns an empty store.
func NewUsageStore() *UsageStore {
	return &UsageStore{raw: map[string]domain.UsageRecord{}, rollups: map[domain.RollupKey]domain.Rollup{}, reads: map[readKey]int64{}}
}

// Ingest stores new records and folds them into their roll-ups.
func (s *UsageStore) Ingest(_ context.Context, records []domain.UsageRecord) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range records {
		if _, seen := s.raw[r.RequestID]; seen {
			continue
		}
		r.Time = r.Time.UTC()
		s.raw[r.RequestID] = r
		n++
		if id, ok := domain.ResourceRead(r); ok {
			s.reads[readKey{r.Time.Truncate(24 * time.Hour), id}]++
		}
		for _, step := range domain.Steps {
			k := domain.KeyOf(r, step)
			cur := s.rollups[k]
			cur.Key = k
			lat, err := sketch.Decode(cur.Latency)
			if err != nil {
				return n, err
			}
			lat.Add(r.LatencyMS)
			cur.Requests++
			if r.Failed() {
				cur.Errors++
			}
			cur.BytesIn += r.BytesIn
			cur.BytesOut += r.BytesOut
			cur.Latency = lat.Encode()
			s.rollups[k] = cur
		}
	}
	return n, nil
}

// TopResources ranks resources by reads on whole days.
func (s *UsageStore) TopResources(_ context.Context, since, until time.Time, limit int) ([]domain.ResourceReads, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from, to := since.UTC().Truncate(24*time.Hour), until.UTC().Truncate(24*time.Hour)
	counts := map[string]int64{}
	for k, n := range s.reads {
		if !k.day.Before(from) && !k.day.After(to) {
			counts[k.id] += n
		}
	}
	out := make([]domain.ResourceReads, 0, len(counts))
	for id, n := range counts {
		out = append(out, domain.ResourceReads{ResourceID: id, Reads: n})
	}
	slices.SortFunc(out, func(a, b domain.ResourceReads) int {
		if a.Reads != b.Reads {
			return int(b.Reads - a.Reads)
		}
		return strings.Compare(a.ResourceID, b.ResourceID)
	})
	return out[:min(limit, len(out))], nil
}

// ResourceReads counts one resource's reads on whole days.
func (s *UsageStore) ResourceReads(_ context.Context, resourceID string, since, until time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from, to := since.UTC().Truncate(24*time.Hour), until.UTC().Truncate(24*time.Hour)
	var n int64
	for k, c := range s.reads {
		if k.id == resourceID && !k.day.Before(from) && !k.day.After(to) {
			n += c
		}
	}
	return n, nil
}

// Rollups returns roll-ups of one step in a range, by bucket.
func (s *UsageStore) Rollups(_ context.Context, step domain.Granularity, since, until time.Time, identity string) ([]domain.Rollup, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Rollup
	for k, r := range s.rollups {
		if k.Step == step && !k.Start.Before(since) && k.Start.Before(until) && (identity == "" || k.Identity == identity) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b domain.Rollup) int { return a.Key.Start.Compare(b.Key.Start) })
	return out, nil
}

// Raw returns raw records in a range.
func (s *UsageStore) Raw(_ context.Context, since, until time.Time) ([]domain.UsageRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.UsageRecord
	for _, r := range s.raw {
		if !r.Time.Before(since) && r.Time.Before(until) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b domain.UsageRecord) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// Expire applies retention.
func (s *UsageStore) Expire(_ context.Context, rawCutoff, rollupCutoff time.Time) (int64, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var raw, rollups int64
	for id, r := range s.raw {
		if r.Time.Before(rawCutoff) {
			delete(s.raw, id)
			raw++
		}
	}
	for k := range s.rollups {
		if k.Start.Before(rollupCutoff) {
			delete(s.rollups, k)
			rollups++
		}
	}
	for k := range s.reads {
		if k.day.Before(rollupCutoff.UTC().Truncate(24 * time.Hour)) {
			delete(s.reads, k)
		}
	}
	return raw, rollups, nil
}

// AuditLog is the in-memory app.AuditLog.
type AuditLog struct {
	mu          sync.Mutex
	records     []domain.AuditRecord
	entries     []domain.AuditEntry
	ids         map[string]bool
	checkpoints map[int64]domain.Checkpoint
}

var _ app.AuditLog = (*AuditLog)(nil)

// NewAuditLog returns an empty log.
func NewAuditLog() *AuditLog {
	return &AuditLog{ids: map[string]bool{}, checkpoints: map[int64]domain.Checkpoint{}}
}

func (l *AuditLog) head() domain.AuditEntry {
	if len(l.entries) == 0 {
		return domain.AuditEntry{}
	}
	return l.entries[len(l.entries)-1]
}

// Append chains new events.
func (l *AuditLog) Append(_ context.Context, events []domain.AuditEvent) (int, domain.AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range events {
		if l.ids[e.ID] {
			continue
		}
		l.ids[e.ID] = true
		entry := domain.Append(l.head(), slices.Clone(e.Canonical))
		e.Time = e.Time.UTC()
		l.entries = append(l.entries, entry)
		l.records = append(l.records, domain.AuditRecord{Seq: entry.Seq, AuditEvent: e})
		n++
	}
	return n, l.head(), nil
}

// Head is the last entry.
func (l *AuditLog) Head(context.Context) (domain.AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head(), nil
}

// Entries returns a range.
func (l *AuditLog) Entries(_ context.Context, from, to int64) (domain.Hash, []domain.AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev := domain.Genesis
	if from > 1 {
		if from-1 > int64(len(l.entries)) {
			return prev, nil, fault.New(fault.NotFound, "the entry before the range is missing")
		}
		prev = l.entries[from-2].Hash
	}
	var out []domain.AuditEntry
	for _, e := range l.entries {
		if e.Seq >= from && e.Seq <= to {
			out = append(out, e)
		}
	}
	return prev, out, nil
}

// AddCheckpoint stores a checkpoint.
func (l *AuditLog) AddCheckpoint(_ context.Context, c domain.Checkpoint) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.checkpoints[c.Seq]; !ok {
		c.At = c.At.UTC()
		l.checkpoints[c.Seq] = c
	}
	return nil
}

// Checkpoints returns those in a range.
func (l *AuditLog) Checkpoints(_ context.Context, from, to int64) ([]domain.Checkpoint, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []domain.Checkpoint
	for seq, c := range l.checkpoints {
		if seq >= from && seq <= to {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b domain.Checkpoint) int { return int(a.Seq - b.Seq) })
	return out, nil
}

// List pages through matching records.
func (l *AuditLog) List(_ context.Context, f app.AuditFilter, after int64, limit int) ([]domain.AuditRecord, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []domain.AuditRecord
	for _, r := range l.records {
		if r.Seq <= after || (f.Actor != "" && r.Actor != f.Actor) || (f.Action != "" && r.Action != f.Action) ||
			(f.Target != "" && r.Target != f.Target) || r.Time.Before(f.Since) || (!f.Until.IsZero() && !r.Time.Before(f.Until)) {
			continue
		}
		out = append(out, r)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// Truncate drops every entry after seq, as tampering would; tests of
// verification use it.
func (l *AuditLog) Truncate(seq int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.entries) > 0 && l.entries[len(l.entries)-1].Seq > seq {
		l.entries = l.entries[:len(l.entries)-1]
		l.records = l.records[:len(l.records)-1]
	}
}

// Series merges the roll-ups per bucket and group.
func (s *UsageStore) Series(ctx context.Context, step domain.Granularity, since, until time.Time, identity string, g domain.Grouping) ([]domain.Rollup, error) {
	rollups, err := s.Rollups(ctx, step, since, until, identity)
	if err != nil {
		return nil, err
	}
	return series.Merge(rollups, g)
}
