package migration_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/services/gateway/domain"
	"github.com/lattice-platform/lattice/services/gateway/migration"
)

// memStore is an in-memory migration.Store with revisions.
type memStore struct {
	mu     sync.Mutex
	states map[string]domain.MigrationState
	revs   map[string]uint64
}

func newMemStore() *memStore {
	return &memStore{states: map[string]domain.MigrationState{}, revs: map[string]uint64{}}
}

func (m *memStore) Watch(ctx context.Context, _ func(string, domain.MigrationState), loaded func()) error {
	loaded()
	<-ctx.Done()
	return nil
}

func (m *memStore) Get(_ context.Context, prefix string) (domain.MigrationState, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.states[prefix], m.revs[prefix], nil
}

func (m *memStore) Put(_ context.Context, prefix string, s domain.MigrationState, rev uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.revs[prefix] != rev {
		return fault.New(fault.Conflict, "changed meanwhile")
	}
	m.states[prefix], m.revs[prefix] = s, rev+1
	return nil
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

const prefix = "/v1/resources"

// fixture is a service and guard over one canary route whose state is
// the store's.
type fixture struct {
	store *memStore
	svc   *migration.Service
	guard *migration.Guard
	audit *portstest.AuditTrail
	reg   *prometheus.Registry
	clk   *clock
}

func setup(t *testing.T, guard domain.CanaryGuard) *fixture {
	t.Helper()
	f := &fixture{store: newMemStore(), audit: &portstest.AuditTrail{}, reg: prometheus.NewRegistry(),
		clk: &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}}
	routes := func() []domain.Route {
		st, _, _ := f.store.Get(context.Background(), prefix)
		return []domain.Route{{Prefix: prefix, Upstream: "legacy", Migration: &domain.Migration{Lattice: "resource", Canary: guard}, State: st}}
	}
	f.svc = migration.New(f.store, routes, f.clk, func(map[string]domain.MigrationState) {})
	f.svc.AuditTo(f.audit)
	var err error
	f.guard, err = migration.NewGuard(f.svc, routes, f.reg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	f.guard.SetNow(func() time.Time { return f.clk.t })
	return f
}

func (f *fixture) route() domain.Route {
	st, _, _ := f.store.Get(context.Background(), prefix)
	return domain.Route{Prefix: prefix, Upstream: "legacy", Migration: &domain.Migration{Lattice: "resource", Canary: domain.DefaultCanaryGuard}, State: st}
}

func (f *fixture) toCanary(t *testing.T, percent int) {
	t.Helper()
	ctx := context.Background()
	_, err := f.svc.Promote(ctx, prefix, 0, "u-admin", "compare")
	require.NoError(t, err)
	f.clk.t = f.clk.t.Add(time.Second)
	st, err := f.svc.Promote(ctx, prefix, percent, "u-admin", "")
	require.NoError(t, err)
	require.Equal(t, domain.PhaseCanary, st.Phase)
}

// observe reports n answers of a side, failed of them 5xx, each taking d.
func (f *fixture) observe(lattice bool, n, failed int, d time.Duration) {
	r := f.route()
	for i := range n {
		status := 200
		if i < failed {
			status = 503
		}
		f.guard.Observe(r, lattice, status, d)
	}
}

func TestACanaryWithMoreErrorsRollsItselfBack(t *testing.T) {
	ctx := context.Background()
	f := setup(t, domain.DefaultCanaryGuard)
	f.toCanary(t, 20)
	f.observe(false, 30, 0, 10*time.Millisecond)
	f.observe(true, 30, 1, 10*time.Millisecond)
	f.guard.Check(ctx)
	st, _, _ := f.store.Get(ctx, prefix)
	require.Equal(t, domain.PhaseCanary, st.Phase, "3% more errors is within the 5-point margin")

	f.observe(true, 10, 10, 10*time.Millisecond) // now 11 of 40: 27.5%
	f.guard.Check(ctx)
	st, _, _ = f.store.Get(ctx, prefix)
	require.Equal(t, domain.PhaseLegacy, st.Phase)
	require.Equal(t, migration.AutomaticActor, st.UpdatedBy)
	require.Contains(t, st.Reason, "5xx on Lattice 27.5% against 0.0% on the monolith")
	require.InDelta(t, 1, rollbacks(t, f.reg, "errors"), 0)
	entries := f.audit.Entries()
	require.Len(t, entries, 3, "two promotions and the rollback")
	last := entries[2]
	require.Equal(t, "migration.canary_rollback", last.Action)
	require.Equal(t, "gateway", last.Actor)
	require.Equal(t, "route/v1/resources", last.Target)
	require.Equal(t, "canary", last.Details["from"])
	require.Equal(t, 20, last.Details["from_percent"])

	f.guard.Check(ctx)
	require.Len(t, f.audit.Entries(), 3, "a route on the monolith is not judged")
}

func TestACanaryWithASlowerP95RollsItselfBack(t *testing.T) {
	ctx := context.Background()
	f := setup(t, domain.DefaultCanaryGuard)
	f.toCanary(t, 50)
	f.observe(false, 40, 0, 20*time.Millisecond)
	f.observe(true, 40, 0, 150*time.Millisecond)
	f.guard.Check(ctx)
	st, _, _ := f.store.Get(ctx, prefix)
	require.Equal(t, domain.PhaseCanary, st.Phase, "under 250 ms slower is within the margin")
	f.observe(true, 40, 0, 900*time.Millisecond)
	f.guard.Check(ctx)
	st, _, _ = f.store.Get(ctx, prefix)
	require.Equal(t, domain.PhaseLegacy, st.Phase)
	require.Contains(t, st.Reason, "P95 on Lattice")
	require.InDelta(t, 1, rollbacks(t, f.reg, "latency"), 0)
}

// TestTheGuardJudgesOnlyEnoughRecentAnswersOfTheCurrentCanary: too few
// answers on a side, answers older than the window, and answers of an
// earlier canary state do not count.
func TestTheGuardJudgesOnlyEnoughRecentAnswersOfTheCurrentCanary(t *testing.T) {
	ctx := context.Background()
	f := setup(t, domain.DefaultCanaryGuard)
	f.toCanary(t, 10)
	f.observe(false, 5, 0, time.Millisecond)
	f.observe(true, 30, 30, time.Millisecond)
	f.guard.Check(ctx)
	st, _, _ := f.store.Get(ctx, prefix)
	require.Equal(t, domain.PhaseCanary, st.Phase, "5 legacy answers are too few to compare with")

	f.observe(false, 30, 0, time.Millisecond)
	f.clk.t = f.clk.t.Add(2 * time.Minute)
	f.guard.Check(ctx)
	st, _, _ = f.store.Get(ctx, prefix)
	require.Equal(t, domain.PhaseCanary, st.Phase, "answers older than the window fall out")

	f.observe(true, 30, 30, time.Millisecond)
	f.observe(false, 30, 0, time.Millisecond)
	_, err := f.svc.Promote(ctx, prefix, 60, "u-admin", "")
	require.NoError(t, err)
	f.guard.Check(ctx)
	st, _, _ = f.store.Get(ctx, prefix)
	require.Equal(t, 60, st.Percent, "a new canary state starts afresh")
}

func TestPeopleChangesAreAuditedFirst(t *testing.T) {
	ctx := context.Background()
	f := setup(t, domain.DefaultCanaryGuard)
	f.audit.Fail = errors.New("the audit stream is down")
	_, err := f.svc.Promote(ctx, prefix, 0, "u-admin", "")
	require.True(t, fault.Of(err, fault.Unavailable), "got %v", err)
	st, rev, _ := f.store.Get(ctx, prefix)
	require.Zero(t, rev, "nothing changed: %v", st)
	_, err = f.svc.Promote(ctx, "/v1/other", 0, "u-admin", "")
	require.ErrorIs(t, err, domain.ErrNotMigrating)
	_, err = f.svc.Rollback(ctx, prefix, "u-admin", string(make([]byte, migration.MaxReason+1)))
	require.True(t, fault.Of(err, fault.Invalid))
}

// rollbacks is the rollback counter's value for cause.
func rollbacks(t *testing.T, reg *prometheus.Registry, cause string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "lattice_gateway_migration_rollbacks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "cause" && l.GetValue() == cause {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
