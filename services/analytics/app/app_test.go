package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/app/fake"
	"github.com/lattice-platform/lattice/services/analytics/app/porttest"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

var (
	admin   = domain.Caller{Subject: "root", Scopes: []string{domain.ScopeRead, domain.ScopeAdmin, domain.ScopeAudit}}
	user1   = domain.Caller{Subject: "u1", Scopes: []string{domain.ScopeRead}}
	noScope = domain.Caller{Subject: "u2"}
)

// readable lets each bearer read the listed resources.
type readable map[string][]string

func (r readable) CheckRead(_ context.Context, bearer, id string) error {
	if slices.Contains(r[bearer], id) {
		return nil
	}
	return fault.New(fault.NotFound, "resource not found")
}

func (r readable) Readable(_ context.Context, bearer string, ids []string) ([]string, error) {
	if len(ids) > ports.MaxAccessCheck {
		return nil, fault.InvalidField("ids", "too many")
	}
	var out []string
	for _, id := range ids {
		if slices.Contains(r[bearer], id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func newService(t *testing.T) (*app.Service, *fake.AuditLog) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	audit := fake.NewAuditLog()
	access := readable{"user1-token": {"00000000-0000-7000-8000-00000000000a"},
		"admin-token": {"00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"}}
	return app.New(app.Deps{Usage: fake.NewUsageStore(), Audit: audit, Access: access, SigningKey: key, KeyID: "k1",
		VerifyKeys: map[string]ed25519.PublicKey{"k1": pub}, Clock: fixedClock{}}), audit
}

// fixedClock says it is 2026-11-30 12:00 UTC.
type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }

func TestTopResourcesHideWhatTheCallerCannotRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newService(t)
	a, b := "00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var records []domain.UsageRecord
	for i := range 9 {
		id := b
		if i%3 == 0 {
			id = a
		}
		records = append(records, domain.UsageRecord{RequestID: fmt.Sprint("r", i), Method: "GET", Status: 200, Path: "/v1/resources/" + id, Time: at})
	}
	_, err := svc.IngestUsage(ctx, records)
	require.NoError(t, err)
	u := user1
	u.Bearer = "user1-token"
	top, err := svc.TopResources(ctx, u, at, at, 10)
	require.NoError(t, err)
	require.Equal(t, []domain.ResourceReads{{ResourceID: a, Reads: 3}}, top, "b is more read, but user1 cannot read it")
	ad := admin
	ad.Bearer = "admin-token"
	top, err = svc.TopResources(ctx, ad, at, at, 10)
	require.NoError(t, err)
	require.Equal(t, []domain.ResourceReads{{ResourceID: b, Reads: 6}, {ResourceID: a, Reads: 3}}, top)
	usage, err := svc.ResourceUsage(ctx, ad, b)
	require.NoError(t, err)
	require.EqualValues(t, 6, usage.Reads7Days, "the reads were five days before the clock's today")
	require.EqualValues(t, 6, usage.Reads30Days)
	require.Equal(t, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), usage.Since)
	_, err = svc.ResourceUsage(ctx, u, b)
	require.True(t, fault.Of(err, fault.NotFound), "a resource the caller cannot read is not found")
	_, err = svc.TopResources(ctx, noScope, at, at, 10)
	require.True(t, fault.Of(err, fault.Forbidden))
	_, err = svc.TopResources(ctx, ad, at, at.Add(-time.Hour), 10)
	require.True(t, fault.Of(err, fault.Invalid))
}

func quantile(vs []float64, q float64) float64 {
	slices.Sort(vs)
	return vs[int(q*float64(len(vs)-1))]
}

func TestUsageReportsComeFromRollupsAndMatchTheRawRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newService(t)
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	records := porttest.UsageRecords(mrand.New(mrand.NewPCG(5, 6)), 3000, start)
	n, err := svc.IngestUsage(ctx, records)
	require.NoError(t, err)
	require.Equal(t, 3000, n)
	n, err = svc.IngestUsage(ctx, records[:1000])
	require.NoError(t, err)
	require.Zero(t, n, "a redelivered batch counts once")

	q := app.UsageQuery{From: start, To: start.Add(time.Hour), Granularity: domain.Hour, GroupBy: "route"}
	points, err := svc.UsageReport(ctx, admin, q)
	require.NoError(t, err)
	byRoute := map[string][]float64{}
	errs := map[string]int64{}
	for _, r := range records {
		byRoute[r.Route] = append(byRoute[r.Route], r.LatencyMS)
		if r.Failed() {
			errs[r.Route]++
		}
	}
	require.Len(t, points, len(byRoute))
	for _, p := range points {
		require.Equal(t, start, p.Start)
		require.EqualValues(t, len(byRoute[p.Group]), p.Requests)
		require.Equal(t, errs[p.Group], p.Errors)
		require.InEpsilon(t, quantile(byRoute[p.Group], 0.95), p.P95, 0.02)
		require.InEpsilon(t, quantile(byRoute[p.Group], 0.5), p.P50, 0.02)
	}

	minutes, err := svc.UsageReport(ctx, admin, app.UsageQuery{From: start, To: start.Add(10 * time.Minute), Granularity: domain.Minute})
	require.NoError(t, err)
	require.Len(t, minutes, 5, "records span five minutes")

	// A user sees only their own usage.
	mine, err := svc.UsageReport(ctx, user1, app.UsageQuery{From: start, To: start.Add(time.Hour), Granularity: domain.Hour, GroupBy: "identity"})
	require.NoError(t, err)
	require.Len(t, mine, 1)
	require.Equal(t, "u1", mine[0].Group)
	own := 0
	for _, r := range records {
		if r.Identity == "u1" {
			own++
		}
	}
	require.EqualValues(t, own, mine[0].Requests)

	sum, err := svc.UsageSummary(ctx, admin, start, start.Add(time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 3000, sum.Total.Requests)
	require.Len(t, sum.TopRoutes, 3)
	require.GreaterOrEqual(t, sum.TopRoutes[0].Requests, sum.TopRoutes[1].Requests)

	for _, c := range []struct {
		caller domain.Caller
		q      app.UsageQuery
		kind   fault.Kind
	}{
		{domain.Caller{}, q, fault.Unauthenticated},
		{noScope, q, fault.Forbidden},
		{admin, app.UsageQuery{From: start, To: start.Add(time.Hour), Granularity: "week"}, fault.Invalid},
		{admin, app.UsageQuery{From: start, To: start.Add(time.Hour), Granularity: domain.Minute, GroupBy: "colour"}, fault.Invalid},
		{admin, app.UsageQuery{From: start, To: start, Granularity: domain.Minute}, fault.Invalid},
		{admin, app.UsageQuery{From: start, To: start.AddDate(1, 0, 0), Granularity: domain.Minute}, fault.Invalid},
	} {
		_, err := svc.UsageReport(ctx, c.caller, c.q)
		require.True(t, fault.Of(err, c.kind), "%+v: %v", c, err)
	}
}

func TestAuditAppendCheckpointVerifyList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, log := newService(t)
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var inputs []app.AuditInput
	for i, action := range []string{"user.signup", "session.login", "resource.create", "resource.update", "resource.delete"} {
		inputs = append(inputs, app.AuditInput{ID: "e" + string(rune('0'+i)), Time: at.Add(time.Duration(i) * time.Minute),
			Actor: "u1", Action: action, Target: "resource/r1", Source: "lattice/test", Data: map[string]any{"z": 1, "a": "x"}})
	}
	n, err := svc.AppendAudit(ctx, inputs)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	n, err = svc.AppendAudit(ctx, inputs)
	require.NoError(t, err)
	require.Zero(t, n, "redelivered audit events are recorded once")
	_, entries, err := log.Entries(ctx, 1, 1)
	require.NoError(t, err)
	require.Equal(t, `{"action":"user.signup","actor":"u1","data":{"a":"x","z":1},"id":"e0","source":"lattice/test","target":"resource/r1","time":"2026-11-25T09:00:00Z"}`,
		string(entries[0].Canonical), "RFC 8785: keys sorted, no whitespace")

	cp, err := svc.Checkpoint(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 5, cp.Seq)
	v, err := svc.VerifyAudit(ctx, admin, 1, 0)
	require.NoError(t, err)
	require.Nil(t, v.Broken)
	require.Equal(t, 5, v.Entries)
	require.Equal(t, 1, v.Checkpoints)
	v, err = svc.VerifyAudit(ctx, admin, 2, 4)
	require.NoError(t, err)
	require.Nil(t, v.Broken)

	// A checkpoint signed by an unknown key breaks verification.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	more, err := svc.AppendAudit(ctx, []app.AuditInput{{ID: "e9", Time: at, Actor: "u2", Action: "apikey.create", Target: "user/u2"}})
	require.NoError(t, err)
	require.Equal(t, 1, more)
	head, err := log.Head(ctx)
	require.NoError(t, err)
	require.NoError(t, log.AddCheckpoint(ctx, domain.SignCheckpoint(head, at, "k1", other)))
	v, err = svc.VerifyAudit(ctx, admin, 1, 0)
	require.NoError(t, err)
	require.NotNil(t, v.Broken)
	require.EqualValues(t, 6, v.Broken.Seq)

	list, err := svc.ListAudit(ctx, admin, app.AuditFilter{Action: "resource.update"}, 0, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "e3", list[0].ID)
	_, err = svc.ListAudit(ctx, user1, app.AuditFilter{}, 0, 10)
	require.True(t, fault.Of(err, fault.Forbidden), "only admins read the audit log")
	_, err = svc.VerifyAudit(ctx, user1, 1, 0)
	require.True(t, fault.Of(err, fault.Forbidden))
}

func TestVerifyToTheHeadNoticesARemovedTail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, log := newService(t)
	v, err := svc.VerifyAudit(ctx, admin, 1, 0)
	require.NoError(t, err)
	require.Nil(t, v.Broken, "an empty log verifies")
	var inputs []app.AuditInput
	for i := range 6 {
		inputs = append(inputs, app.AuditInput{ID: fmt.Sprint("t", i), Time: time.Now(), Actor: "u1", Action: "resource.update", Target: "resource/x"})
	}
	_, err = svc.AppendAudit(ctx, inputs)
	require.NoError(t, err)
	_, err = svc.Checkpoint(ctx)
	require.NoError(t, err)
	log.Truncate(4) // an intruder removes the last two entries
	v, err = svc.VerifyAudit(ctx, admin, 1, 0)
	require.NoError(t, err)
	require.NotNil(t, v.Broken)
	require.EqualValues(t, 5, v.Broken.Seq)
	require.Contains(t, v.Broken.Reason, "covers 6")
}

// countingAccess reads nothing and counts how the resource service is
// asked.
type countingAccess struct {
	mu           sync.Mutex
	single, many int
}

func (c *countingAccess) CheckRead(context.Context, string, string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.single++
	return fault.New(fault.NotFound, "resource not found")
}

func (c *countingAccess) Readable(_ context.Context, _ string, ids []string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(ids) > ports.MaxAccessCheck {
		return nil, fault.InvalidField("ids", "too many")
	}
	c.many++
	return nil, nil
}

// TestTopResourcesAskInPages: ranking 50 from 210 candidates none of which
// the caller may read costs three access checks, not 210 resource reads.
func TestTopResourcesAskInPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	access := &countingAccess{}
	svc := app.New(app.Deps{Usage: fake.NewUsageStore(), Audit: fake.NewAuditLog(), Access: access, Clock: fixedClock{}})
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var records []domain.UsageRecord
	for i := range 300 {
		records = append(records, domain.UsageRecord{RequestID: fmt.Sprint("r", i), Method: "GET", Status: 200,
			Path: fmt.Sprintf("/v1/resources/00000000-0000-7000-8000-%012d", i), Time: at})
	}
	_, err := svc.IngestUsage(ctx, records)
	require.NoError(t, err)
	u := user1
	u.Bearer = "user1-token"
	top, err := svc.TopResources(ctx, u, at, at, 50)
	require.NoError(t, err)
	require.Empty(t, top)
	require.Equal(t, 0, access.single)
	require.Equal(t, 3, access.many, "210 candidates in pages of %d", ports.MaxAccessCheck)
}

func TestAuditKeysComeFromConfigurationOnly(t *testing.T) {
	t.Parallel()
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 7
	old, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	id, key, pubs, err := app.AuditKeys(seed, []ed25519.PublicKey{old})
	require.NoError(t, err)
	require.Equal(t, ed25519.NewKeyFromSeed(seed), key)
	require.Equal(t, domain.KeyID(key.Public().(ed25519.PublicKey)), id)
	require.Len(t, pubs, 2, "the signing key and the pinned earlier key")
	require.Contains(t, pubs, domain.KeyID(old))
	for _, bad := range [][]byte{nil, []byte("short")} {
		_, _, _, err := app.AuditKeys(bad, nil)
		require.Error(t, err, "no configured key, no signing")
	}
	_, _, _, err = app.AuditKeys(seed, []ed25519.PublicKey{[]byte("short")})
	require.Error(t, err)
}
