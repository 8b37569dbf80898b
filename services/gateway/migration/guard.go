package migration

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/services/gateway/domain"
)

// Guard watches the routes in their canary phase and rolls one back to
// the monolith when its Lattice side answers worse than its legacy side
// by the route's margins (domain.CanaryGuard) over the route's window. The
// proxy reports each canary answer (Observe); Run checks every second.
// Each replica judges the traffic it sees; the store's compare-and-set
// makes concurrent rollbacks one.
type Guard struct {
	svc       *Service
	routes    func() []domain.Route // the migration routes in force, with their states
	now       func() time.Time
	rollbacks *prometheus.CounterVec
	log       *slog.Logger

	mu      sync.Mutex
	windows map[string]*canaryWindow // by route prefix
}

// NewGuard returns a guard that rolls back through svc, counting on reg.
func NewGuard(svc *Service, routes func() []domain.Route, reg prometheus.Registerer, log *slog.Logger) (*Guard, error) {
	rollbacks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lattice_gateway_migration_rollbacks_total",
		Help: "Canaries this gateway rolled back by itself, by route and cause (errors, latency).",
	}, []string{"route", "cause"})
	if err := reg.Register(rollbacks); err != nil {
		return nil, err
	}
	return &Guard{svc: svc, routes: routes, now: time.Now, rollbacks: rollbacks, log: log, windows: map[string]*canaryWindow{}}, nil
}

// The sides of a canary, as canaryWindow.sides indexes them.
const (
	sideLegacy  = 0
	sideLattice = 1
)

// Observe records one answer of a canary route: from its Lattice side or
// its legacy side.
func (g *Guard) Observe(route domain.Route, lattice bool, status int, latency time.Duration) {
	side := sideLegacy
	if lattice {
		side = sideLattice
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	w := g.windowLocked(route)
	w.sides[side].add(g.now(), status >= 500, latency)
}

// windowLocked is the route's window for its current canary state; a new
// state (a promotion, a rollback and a new canary) starts afresh.
func (g *Guard) windowLocked(route domain.Route) *canaryWindow {
	w := g.windows[route.Prefix]
	if w == nil || w.state != route.State.UpdatedAt || w.guard != route.Migration.Canary {
		w = newCanaryWindow(route.State.UpdatedAt, route.Migration.Canary)
		g.windows[route.Prefix] = w
	}
	return w
}

// Run checks the canaries every second until ctx ends.
func (g *Guard) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.Check(ctx)
		}
	}
}

// Check judges every canary once.
func (g *Guard) Check(ctx context.Context) {
	for _, r := range g.routes() {
		if r.State.Phase != domain.PhaseCanary {
			continue
		}
		g.mu.Lock()
		cause, reason := g.windowLocked(r).verdict(g.now())
		g.mu.Unlock()
		if cause == "" {
			continue
		}
		st, err := g.svc.rollBackCanary(ctx, r.Prefix, r.State, reason)
		if st.Phase != domain.PhaseLegacy {
			g.log.WarnContext(ctx, "canary rollback failed", "route", r.Prefix, "error", err)
			continue
		}
		if err != nil {
			g.log.ErrorContext(ctx, "canary rolled back", "route", r.Prefix, "error", err)
		}
		g.rollbacks.WithLabelValues(r.Prefix, cause).Inc()
		g.log.WarnContext(ctx, "canary rolled back", "route", r.Prefix, "cause", cause, "reason", reason)
	}
}

// canaryWindow is one canary state's recent answers, per side.
type canaryWindow struct {
	state time.Time
	guard domain.CanaryGuard
	sides [2]*sideWindow
}

// slots divide a window: answers older than the window fall out a slot
// at a time.
const slots = 12

func newCanaryWindow(state time.Time, guard domain.CanaryGuard) *canaryWindow {
	w := &canaryWindow{state: state, guard: guard}
	for i := range w.sides {
		w.sides[i] = &sideWindow{slot: guard.Window / slots}
	}
	return w
}

// verdict says whether the Lattice side is worse by the margins: the
// cause ("errors" or "latency") and a sentence for the record, or "".
func (w *canaryWindow) verdict(now time.Time) (cause, reason string) {
	legacy, lattice := w.sides[sideLegacy].sum(now, w.guard.Window), w.sides[sideLattice].sum(now, w.guard.Window)
	if legacy.n < w.guard.MinRequests || lattice.n < w.guard.MinRequests {
		return "", ""
	}
	le, ce := legacy.errorRate(), lattice.errorRate()
	if ce-le > w.guard.ErrorMargin {
		return "errors", fmt.Sprintf("5xx on Lattice %.1f%% against %.1f%% on the monolith over %s (%d and %d requests; margin %.1f points)",
			100*ce, 100*le, w.guard.Window, lattice.n, legacy.n, 100*w.guard.ErrorMargin)
	}
	lp, cp := legacy.p95(), lattice.p95()
	if cp-lp > w.guard.P95Margin {
		return "latency", fmt.Sprintf("P95 on Lattice %s against %s on the monolith over %s (%d and %d requests; margin %s)",
			cp, lp, w.guard.Window, lattice.n, legacy.n, w.guard.P95Margin)
	}
	return "", ""
}

// latencyBounds are the upper bounds of the latency histogram: 1 ms × 1.2^k
// up to about 30 s; a P95 is read as the bound of the bucket it falls in,
// so within 20 % of the true one.
var latencyBounds = func() []time.Duration {
	var b []time.Duration
	for d := float64(time.Millisecond); d < float64(30*time.Second); d *= 1.2 {
		b = append(b, time.Duration(math.Round(d)))
	}
	return b
}()

// sideWindow is a ring of slots of one side's answers.
type sideWindow struct {
	slot  time.Duration
	ring  [slots]slotCounts
	start [slots]time.Time
}

type slotCounts struct {
	n, errors int
	latency   [64]int // by latencyBounds (57 of them), then anything slower
}

func (s *sideWindow) add(now time.Time, failed bool, latency time.Duration) {
	i, begin := s.index(now)
	if !s.start[i].Equal(begin) {
		s.ring[i], s.start[i] = slotCounts{}, begin
	}
	c := &s.ring[i]
	c.n++
	if failed {
		c.errors++
	}
	b := 0
	for b < len(latencyBounds) && latency > latencyBounds[b] {
		b++
	}
	c.latency[min(b, len(c.latency)-1)]++
}

func (s *sideWindow) index(now time.Time) (int, time.Time) {
	begin := now.Truncate(s.slot)
	return int(begin.UnixNano()/int64(s.slot)) % slots, begin
}

// sum adds the slots that began within the window.
func (s *sideWindow) sum(now time.Time, window time.Duration) slotCounts {
	var out slotCounts
	for i := range s.ring {
		if s.start[i].IsZero() || !s.start[i].After(now.Add(-window)) {
			continue
		}
		out.n += s.ring[i].n
		out.errors += s.ring[i].errors
		for b, n := range s.ring[i].latency {
			out.latency[b] += n
		}
	}
	return out
}

func (c slotCounts) errorRate() float64 {
	if c.n == 0 {
		return 0
	}
	return float64(c.errors) / float64(c.n)
}

func (c slotCounts) p95() time.Duration {
	need := int(math.Ceil(0.95 * float64(c.n)))
	seen := 0
	for b, n := range c.latency {
		if seen += n; seen >= need && n > 0 {
			if b < len(latencyBounds) {
				return latencyBounds[b]
			}
			return 30 * time.Second
		}
	}
	return 0
}
