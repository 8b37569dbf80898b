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

// memStore is an in-memory migration.Store with one revision sequence.
// Its watch delivers each change from a goroutine of its own, as a real
// store's does; with release set, each delivery also waits for a receive
// from it.
type memStore struct {
	mu      sync.Mutex
	states  map[string]domain.MigrationState
	revs    map[string]uint64
	last    uint64
	changes chan stored
	release chan struct{}
}

type stored struct {
	prefix string
	state  domain.MigrationState
	rev    uint64
}

func newMemStore() *memStore {
	return &memStore{states: map[string]domain.MigrationState{}, revs: map[string]uint64{}, changes: make(chan stored, 64)}
}

func (m *memStore) Watch(ctx context.Context, update func(string, domain.MigrationState, uint64), loaded func()) error {
	loaded()
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-m.changes:
			if m.release != nil {
				select {
				case <-m.release:
				case <-ctx.Done():
					return nil
				}
			}
			update(c.prefix, c.state, c.rev)
		}
	}
}

func (m *memStore) Get(_ context.Context, prefix string) (domain.MigrationState, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.states[prefix], m.revs[prefix], nil
}

func (m *memStore) Put(_ context.Context, prefix string, s domain.MigrationState, rev uint64) (uint64, error) {
	m.mu.Lock()
	if m.revs[prefix] != rev {
		m.mu.Unlock()
		return 0, fault.New(fault.Conflict, "changed meanwhile")
	}
	m.last++
	m.states[prefix], m.revs[prefix] = s, m.last
	c := stored{prefix, s, m.last}
	m.mu.Unlock()
	m.changes <- c
	return c.rev, nil
}

// run follows svc's store until the test ends.
func run(t *testing.T, svc *migration.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
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
	run(t, f.svc)
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

// TestAChangeIsAnsweredOnceThisReplicaRoutesByIt: the store's watch
// brings a change back after the write is acknowledged; the change is
// answered only once the gateway has applied it, so the caller's next
// request already takes the new path.
func TestAChangeIsAnsweredOnceThisReplicaRoutesByIt(t *testing.T) {
	store := newMemStore()
	store.release = make(chan struct{})
	var mu sync.Mutex
	var events []string
	note := func(e string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}
	routes := func() []domain.Route {
		return []domain.Route{{Prefix: prefix, Upstream: "legacy", Migration: &domain.Migration{Lattice: "resource"}}}
	}
	svc := migration.New(store, routes, &clock{t: time.Now()}, func(st map[string]domain.MigrationState) {
		note("applied " + string(st[prefix].Phase))
	})
	run(t, svc)

	answered := make(chan error, 1)
	go func() {
		_, err := svc.Promote(context.Background(), prefix, 0, "u-admin", "")
		note("answered")
		answered <- err
	}()
	store.release <- struct{}{} // the watch may deliver the change now
	require.NoError(t, <-answered)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"applied shadow", "answered"}, events)
}

// TestAChangeIsMadeWhenTheWatchLags: a watch that does not bring the
// change back in time delays it on this replica but does not fail it,
// since it is stored (a retry would promote twice).
func TestAChangeIsMadeWhenTheWatchLags(t *testing.T) {
	f := setup(t, domain.DefaultCanaryGuard)
	f.store.release = make(chan struct{}) // never released: nothing is delivered
	f.svc.SetApplyWait(time.Millisecond)
	st, err := f.svc.Promote(context.Background(), prefix, 0, "u-admin", "")
	require.NoError(t, err)
	require.Equal(t, domain.PhaseShadow, st.Phase)
	got, _, _ := f.store.Get(context.Background(), prefix)
	require.Equal(t, domain.PhaseShadow, got.Phase)
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
