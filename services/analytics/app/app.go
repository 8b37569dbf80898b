// Package app holds the analytics service's use cases: ingesting usage
// records, usage reports from roll-ups, and the audit log (appending
// canonical events to the hash chain, signing checkpoints, verifying and
// listing). It depends only on the domain, pkg/ports and pkg/sketch.
package app

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gowebpki/jcs"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/sketch"
	"github.com/lattice-platform/lattice/services/analytics/domain"
	"github.com/lattice-platform/lattice/services/analytics/series"
)

// Deps are the adapters and keys the use cases need.
type Deps struct {
	Usage  UsageStore
	Audit  AuditLog
	Access ports.ResourceAccess // decides which resources a caller may see
	Clock  ports.Clock
	// SigningKey signs audit checkpoints under KeyID; VerifyKeys are the
	// public keys verification trusts (AuditKeys: pinned in configuration,
	// never read from the audited store).
	SigningKey ed25519.PrivateKey
	KeyID      string
	VerifyKeys map[string]ed25519.PublicKey
	// Sink receives every checkpoint outside the audited store; nil keeps
	// them in the store only (tests of other parts).
	Sink CheckpointSink
	// CheckpointEvery is the signing cadence verification expects between
	// exported checkpoints (default 1 minute).
	CheckpointEvery time.Duration
}

// Service runs the analytics use cases.
type Service struct{ deps Deps }

// New returns a Service.
func New(deps Deps) *Service {
	if deps.Clock == nil {
		deps.Clock = ports.SystemClock{}
	}
	return &Service{deps: deps}
}

// IngestUsage stores a batch of usage records; redelivered ones count once.
func (s *Service) IngestUsage(ctx context.Context, records []domain.UsageRecord) (int, error) {
	return s.deps.Usage.Ingest(ctx, records)
}

// UsageQuery asks for a usage series.
type UsageQuery struct {
	From, To    time.Time
	Granularity domain.Granularity
	GroupBy     string // "", route, identity, client or status
}

// Point is one step of one group of a usage series.
type Point struct {
	Start             time.Time
	Group             string
	Requests, Errors  int64
	BytesIn, BytesOut int64
	P50, P95, P99     float64 // latency in ms
}

// UsageReport returns the roll-ups of the requested granularity whose
// UTC-aligned buckets overlap [From, To), merged per group. A user sees
// their own usage; an admin sees everyone's. No raw record is read, and a
// long range reads hour or day roll-ups, not minutes.
func (s *Service) UsageReport(ctx context.Context, c domain.Caller, q UsageQuery) ([]Point, error) {
	identity, err := c.UsageIdentity()
	if err != nil {
		return nil, err
	}
	if err := domain.CheckRange(q.From, q.To, q.Granularity); err != nil {
		return nil, err
	}
	g, err := domain.ParseGrouping(q.GroupBy)
	if err != nil {
		return nil, err
	}
	step, _ := q.Granularity.Step()
	rows, err := s.deps.Usage.Series(ctx, q.Granularity, q.From.UTC().Truncate(step), q.To, identity, g)
	if err != nil {
		return nil, err
	}
	out := make([]Point, 0, len(rows))
	for _, r := range rows {
		p, err := point(r, g)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y Point) int { return cmp.Or(x.Start.Compare(y.Start), cmp.Compare(x.Group, y.Group)) })
	return out, nil
}

// point is one series point with its latency percentiles.
func point(r domain.Rollup, g domain.Grouping) (Point, error) {
	lat, err := sketch.Decode(r.Latency)
	if err != nil {
		return Point{}, fmt.Errorf("roll-up %v: %w", r.Key.Start, err)
	}
	return Point{Start: r.Key.Start, Group: g.Label(r.Key), Requests: r.Requests, Errors: r.Errors, BytesIn: r.BytesIn, BytesOut: r.BytesOut,
		P50: lat.Quantile(0.5), P95: lat.Quantile(0.95), P99: lat.Quantile(0.99)}, nil
}

// TopResources ranks the most-read resources on the days from..to that
// the caller may read: the resource service is asked, with the caller's
// own credential, about the candidates, so a ranking never reveals a
// resource the caller cannot see.
func (s *Service) TopResources(ctx context.Context, c domain.Caller, from, to time.Time, limit int) ([]domain.ResourceReads, error) {
	if _, err := c.UsageIdentity(); err != nil {
		return nil, err
	}
	if to.Before(from) {
		return nil, fault.InvalidField("from", "must not be after to")
	}
	if to.Sub(from) > 400*24*time.Hour {
		return nil, fault.InvalidField("to", "the range may span at most 400 days")
	}
	candidates, err := s.deps.Usage.TopResources(ctx, from, to, 4*limit+10)
	if err != nil {
		return nil, err
	}
	out := make([]domain.ResourceReads, 0, limit)
	// The resource service is asked about a page of candidates at a time
	// (one call, not one per resource), and only as long as needed.
	for start := 0; start < len(candidates) && len(out) < limit; start += ports.MaxAccessCheck {
		page := candidates[start:min(start+ports.MaxAccessCheck, len(candidates))]
		ids := make([]string, len(page))
		for i, r := range page {
			ids[i] = r.ResourceID
		}
		readable, err := s.deps.Access.Readable(ctx, c.Bearer, ids)
		if err != nil {
			return nil, err
		}
		ok := make(map[string]bool, len(readable))
		for _, id := range readable {
			ok[id] = true
		}
		for _, r := range page {
			if ok[r.ResourceID] && len(out) < limit {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// ResourceUsage is how often a resource was read recently.
type ResourceUsage struct {
	ResourceID   string
	Reads7Days   int64
	Reads30Days  int64
	Since, Until time.Time
}

// ResourceUsage counts a resource's successful reads over the last 7 and
// 30 days, for a caller who may read it (404 otherwise, as the resource
// service answers).
func (s *Service) ResourceUsage(ctx context.Context, c domain.Caller, resourceID string) (ResourceUsage, error) {
	if _, err := c.UsageIdentity(); err != nil {
		return ResourceUsage{}, err
	}
	if err := s.deps.Access.CheckRead(ctx, c.Bearer, resourceID); err != nil {
		return ResourceUsage{}, err
	}
	today := s.deps.Clock.Now().UTC().Truncate(24 * time.Hour)
	out := ResourceUsage{ResourceID: resourceID, Since: today.AddDate(0, 0, -29), Until: today}
	var err error
	if out.Reads7Days, err = s.deps.Usage.ResourceReads(ctx, resourceID, today.AddDate(0, 0, -6), today); err != nil {
		return ResourceUsage{}, err
	}
	out.Reads30Days, err = s.deps.Usage.ResourceReads(ctx, resourceID, out.Since, today)
	return out, err
}

// Summary is a range's headline numbers.
type Summary struct {
	Total     Point
	TopRoutes []Point // by requests, at most ten
}

// UsageSummary is the gateway's overview numbers for [from, to).
func (s *Service) UsageSummary(ctx context.Context, c domain.Caller, from, to time.Time) (Summary, error) {
	byRoute, err := s.UsageReport(ctx, c, UsageQuery{From: from, To: to, Granularity: span(from, to), GroupBy: "route"})
	if err != nil {
		return Summary{}, err
	}
	identity, _ := c.UsageIdentity()
	g := span(from, to)
	step, _ := g.Step()
	rows, err := s.deps.Usage.Series(ctx, g, from.UTC().Truncate(step), to, identity, domain.NoGrouping)
	if err != nil {
		return Summary{}, err
	}
	// One point over the whole range: the buckets' series merged.
	for i := range rows {
		rows[i].Key.Start = time.Time{}
	}
	all, err := series.Merge(rows, domain.NoGrouping)
	if err != nil {
		return Summary{}, err
	}
	total := Point{Start: from}
	if len(all) == 1 {
		if total, err = point(all[0], domain.NoGrouping); err != nil {
			return Summary{}, err
		}
		total.Start = from
	}
	routes := map[string]Point{}
	for _, p := range byRoute {
		cur := routes[p.Group]
		cur.Group, cur.Start = p.Group, from
		cur.Requests += p.Requests
		cur.Errors += p.Errors
		cur.BytesIn += p.BytesIn
		cur.BytesOut += p.BytesOut
		routes[p.Group] = cur
	}
	var top []Point
	for _, p := range routes {
		top = append(top, p)
	}
	slices.SortFunc(top, func(x, y Point) int {
		return cmp.Or(cmp.Compare(y.Requests, x.Requests), cmp.Compare(x.Group, y.Group))
	})
	return Summary{Total: total, TopRoutes: top[:min(10, len(top))]}, nil
}

// span is the coarsest granularity with few points over a range.
func span(from, to time.Time) domain.Granularity {
	switch d := to.Sub(from); {
	case d <= 6*time.Hour:
		return domain.Minute
	case d <= 400*24*time.Hour:
		return domain.Hour
	}
	return domain.Day
}

// AuditInput is a security-relevant action to record.
type AuditInput struct {
	ID     string // the CloudEvents id
	Time   time.Time
	Actor  string
	Action string
	Target string
	Source string
	Data   map[string]any
}

// AppendAudit chains events to the audit log in their canonical (RFC
// 8785) JSON; an event already recorded is skipped.
func (s *Service) AppendAudit(ctx context.Context, inputs []AuditInput) (int, error) {
	events := make([]domain.AuditEvent, 0, len(inputs))
	for _, in := range inputs {
		raw, err := json.Marshal(map[string]any{"id": in.ID, "time": in.Time.UTC().Format(time.RFC3339Nano), "actor": in.Actor,
			"action": in.Action, "target": in.Target, "source": in.Source, "data": in.Data})
		if err != nil {
			return 0, fault.Wrap(fault.Invalid, "the audit event cannot be encoded", err)
		}
		canonical, err := jcs.Transform(raw)
		if err != nil {
			return 0, fault.Wrap(fault.Invalid, "the audit event cannot be canonicalised", err)
		}
		events = append(events, domain.AuditEvent{ID: in.ID, Time: in.Time, Actor: in.Actor, Action: in.Action, Target: in.Target, Canonical: canonical})
	}
	n, _, err := s.deps.Audit.Append(ctx, events)
	return n, err
}

// Checkpoint signs the chain's head (nothing for an empty log).
func (s *Service) Checkpoint(ctx context.Context) (domain.Checkpoint, error) {
	head, err := s.deps.Audit.Head(ctx)
	if err != nil || head.Seq == 0 {
		return domain.Checkpoint{}, err
	}
	cp := domain.SignCheckpoint(head, s.deps.Clock.Now(), s.deps.KeyID, s.deps.SigningKey)
	if err := s.deps.Audit.AddCheckpoint(ctx, cp); err != nil {
		return domain.Checkpoint{}, err
	}
	if s.deps.Sink != nil {
		if err := s.deps.Sink.Export(ctx, cp); err != nil {
			return domain.Checkpoint{}, err
		}
	}
	return cp, nil
}

// Verification is the outcome of checking a range of the audit log.
type Verification struct {
	From, To    int64
	Entries     int
	Checkpoints int // checked: stored and exported
	Exported    int // of them, from the sink outside the store
	Broken      *domain.Break
	// Gaps are stretches without exported checkpoints longer than the
	// cadence allows: reported, not a break (the service may have been
	// down).
	Gaps []domain.Gap
}

// VerifyAudit checks the chain and the checkpoints over [from, to] (to 0:
// up to the head) and reports the first broken link. The checkpoints are
// those in the store and those exported to the sink, each trusted only
// under a pinned key: rewriting rows and re-signing with a key put in the
// database, or deleting the stored checkpoints after an edit, is caught
// by the exported ones.
func (s *Service) VerifyAudit(ctx context.Context, c domain.Caller, from, to int64) (Verification, error) {
	if err := c.RequireAudit(); err != nil {
		return Verification{}, err
	}
	if from < 1 {
		from = 1
	}
	toHead := to == 0
	if toHead {
		head, err := s.deps.Audit.Head(ctx)
		if err != nil {
			return Verification{}, err
		}
		to = head.Seq
	}
	// The exported checkpoints are read once, from the start of the range
	// on: they cover the pages, the tail check and the cadence.
	var exported []domain.Checkpoint
	if s.deps.Sink != nil {
		var err error
		if exported, err = s.deps.Sink.Exported(ctx, from, math.MaxInt64); err != nil {
			return Verification{}, err
		}
	}
	if toHead {
		// Entries removed from the end leave a shorter, valid-looking chain;
		// a checkpoint signed past the stored head gives them away.
		later, err := s.deps.Audit.Checkpoints(ctx, to+1, math.MaxInt64)
		if err != nil {
			return Verification{}, err
		}
		later = append(later, within(exported, to+1, math.MaxInt64)...)
		if len(later) > 0 {
			return Verification{From: from, To: to, Broken: &domain.Break{Seq: to + 1,
				Reason: fmt.Sprintf("entries after %d are missing: a signed checkpoint covers %d", to, later[len(later)-1].Seq)}}, nil
		}
	}
	if to < from {
		if toHead && to == 0 {
			return Verification{From: from, To: to}, nil // an empty log verifies
		}
		return Verification{}, fault.InvalidField("to", "must not be before from")
	}
	v := Verification{From: from, To: to}
	if s.deps.Sink != nil {
		v.Gaps = domain.CadenceGaps(within(exported, from, to), cmp.Or(s.deps.CheckpointEvery, time.Minute))
	}
	// Page through the range, carrying the last verified hash, so memory
	// stays bounded however long the log is.
	for lo := from; lo <= to; lo += verifyPage {
		hi := min(to, lo+verifyPage-1)
		prev, entries, err := s.deps.Audit.Entries(ctx, lo, hi)
		if fault.Of(err, fault.NotFound) {
			v.Broken = &domain.Break{Seq: lo - 1, Reason: "the entry before the range is missing"}
			return v, nil
		}
		if err != nil {
			return Verification{}, err
		}
		stored, err := s.deps.Audit.Checkpoints(ctx, lo, hi)
		if err != nil {
			return Verification{}, err
		}
		pageExported := within(exported, lo, hi)
		v.Entries += len(entries)
		v.Checkpoints += len(stored) + len(pageExported)
		v.Exported += len(pageExported)
		if v.Broken = domain.Verify(prev, lo, entries, append(stored, pageExported...), s.deps.VerifyKeys); v.Broken != nil {
			return v, nil
		}
	}
	return v, nil
}

// within keeps the checkpoints with from <= Seq <= to, in order.
func within(cps []domain.Checkpoint, from, to int64) []domain.Checkpoint {
	var out []domain.Checkpoint
	for _, c := range cps {
		if c.Seq >= from && c.Seq <= to {
			out = append(out, c)
		}
	}
	return out
}

// verifyPage is how many audit entries verification holds at a time.
const verifyPage = 10000

// ListAudit pages through audit records (audit:read).
func (s *Service) ListAudit(ctx context.Context, c domain.Caller, f AuditFilter, after int64, limit int) ([]domain.AuditRecord, error) {
	if err := c.RequireAudit(); err != nil {
		return nil, err
	}
	return s.deps.Audit.List(ctx, f, after, limit)
}

// Expire applies the retention periods: raw usage records before rawCutoff
// and roll-ups before rollupCutoff go.
func (s *Service) Expire(ctx context.Context, rawCutoff, rollupCutoff time.Time) (raw, rollups int64, err error) {
	return s.deps.Usage.Expire(ctx, rawCutoff, rollupCutoff)
}
