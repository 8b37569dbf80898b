package domain

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// Migration makes a route one of a migration's: its Upstream is the side
// being replaced (the monolith), Lattice the side replacing it, and the
// route's state (MigrationState) decides which answers. Ignore names the
// JSON fields the shadow comparison leaves out (ids), and Unordered the
// arrays it compares as sets (Shadow).
type Migration struct {
	Lattice   string
	Ignore    []string
	Unordered []string
	Canary    CanaryGuard
}

// CanaryGuard is when a canary rolls itself back: when, over Window, the
// Lattice side's share of 5xx answers exceeds the legacy side's by more
// than ErrorMargin, or its P95 latency exceeds the legacy side's by more
// than P95Margin, with at least MinRequests on each side.
type CanaryGuard struct {
	ErrorMargin float64
	P95Margin   time.Duration
	Window      time.Duration
	MinRequests int
}

// DefaultCanaryGuard applies where a route sets none: 5 points of error
// rate, 250 ms of P95, over a minute, with 20 requests a side.
var DefaultCanaryGuard = CanaryGuard{ErrorMargin: 0.05, P95Margin: 250 * time.Millisecond, Window: time.Minute, MinRequests: 20}

// Check validates a guard.
func (g CanaryGuard) Check() error {
	switch {
	case g.ErrorMargin < 0 || g.ErrorMargin > 1:
		return fmt.Errorf("canary error_margin must be from 0 to 1")
	case g.P95Margin < 0:
		return fmt.Errorf("canary p95_margin must not be negative")
	case g.Window < time.Second || g.Window > time.Hour:
		return fmt.Errorf("canary window must be from 1s to 1h")
	case g.MinRequests < 1:
		return fmt.Errorf("canary min_requests must be positive")
	}
	return nil
}

// Phase is where a route's migration stands.
type Phase string

// The phases, in order: the monolith answers alone; the monolith answers
// and Lattice's answer is compared (shadow); a sticky share of callers
// goes to Lattice (canary), the rest as in shadow; Lattice answers alone.
const (
	PhaseLegacy  Phase = "legacy"
	PhaseShadow  Phase = "shadow"
	PhaseCanary  Phase = "canary"
	PhaseLattice Phase = "lattice"
)

// DefaultCanaryPercent is the share a promotion from shadow starts at.
const DefaultCanaryPercent = 10

// MigrationState is a migration route's state, shared by every gateway
// replica through a store.
type MigrationState struct {
	Phase     Phase     `json:"phase"`
	Percent   int       `json:"percent,omitempty"` // canary only: 1 to 99
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	Reason    string    `json:"reason,omitempty"`
}

// ErrNotMigrating is a route that has no migration.
var ErrNotMigrating = fault.New(fault.NotFound, "no migration route has this prefix")

// Promote moves a state one phase towards Lattice: legacy to shadow,
// shadow to canary (percent, or DefaultCanaryPercent), canary to a larger
// percent when one is given, else to lattice. A route that carries
// credentials is never shadowed, so it goes from legacy straight to canary.
func (s MigrationState) Promote(percent int, credentials bool) (MigrationState, error) {
	if percent < 0 || percent > 99 {
		return s, fault.InvalidField("percent", "must be from 1 to 99")
	}
	next := MigrationState{Phase: s.Phase}
	switch s.Phase {
	case PhaseLegacy, "":
		next.Phase = PhaseShadow
		if credentials {
			next.Phase, next.Percent = PhaseCanary, cmp.Or(percent, DefaultCanaryPercent)
		}
	case PhaseShadow:
		next.Phase, next.Percent = PhaseCanary, cmp.Or(percent, DefaultCanaryPercent)
	case PhaseCanary:
		switch {
		case percent == 0:
			next.Phase = PhaseLattice
		case percent <= s.Percent:
			return s, fault.InvalidField("percent", fmt.Sprintf("a promotion must raise the canary's %d%%", s.Percent))
		default:
			next.Percent = percent
		}
	case PhaseLattice:
		return s, fault.New(fault.Conflict, "the route is on Lattice already")
	default:
		return s, fault.New(fault.Internal, "unknown phase "+string(s.Phase))
	}
	return next, nil
}

// Rollback sends every request of the route back to the monolith at once:
// whatever the phase, the route goes to legacy.
func (s MigrationState) Rollback() (MigrationState, error) {
	if s.Phase == PhaseLegacy || s.Phase == "" {
		return s, fault.New(fault.Conflict, "the route is on the monolith already")
	}
	return MigrationState{Phase: PhaseLegacy}, nil
}

// Valid reports whether a stored state can be applied.
func (s MigrationState) Valid() bool {
	switch s.Phase {
	case PhaseLegacy, PhaseShadow, PhaseLattice:
		return true
	case PhaseCanary:
		return s.Percent >= 1 && s.Percent <= 99
	}
	return false
}

// apply is the route as its state makes it: which upstream answers, and
// what is split off and shadowed.
func (r Route) apply(s MigrationState, credentials bool) Route {
	r.Split, r.Shadow = nil, nil
	shadow := &Shadow{Upstream: r.Migration.Lattice, Ignore: r.Migration.Ignore, Unordered: r.Migration.Unordered}
	switch s.Phase {
	case PhaseShadow:
		if !credentials {
			r.Shadow = shadow
		}
	case PhaseCanary:
		r.Split = &Split{Upstream: r.Migration.Lattice, Percent: s.Percent}
		if !credentials {
			r.Shadow = shadow
		}
	case PhaseLattice:
		r.Upstream = r.Migration.Lattice
	}
	r.State = s
	return r
}

// Credentials reports whether the route serves a path that carries
// credentials (CredentialPaths), which is never shadowed.
func (r Route) Credentials() bool {
	return slices.ContainsFunc(CredentialPaths, func(cp string) bool {
		return r.Prefix == cp || hasPathPrefix(r.Prefix, cp) || hasPathPrefix(cp, r.Prefix)
	})
}

func hasPathPrefix(path, prefix string) bool {
	return len(path) > len(prefix) && path[:len(prefix)] == prefix && (prefix[len(prefix)-1] == '/' || path[len(prefix)] == '/')
}

// WithStates returns the table with each migration route as its state
// makes it; a route without a (valid) state is in PhaseLegacy.
func (t *Table) WithStates(states map[string]MigrationState) *Table {
	out := &Table{routes: make([]Route, len(t.routes))}
	for i, r := range t.routes {
		if r.Migration != nil {
			s, ok := states[r.Prefix]
			if !ok || !s.Valid() {
				s = MigrationState{Phase: PhaseLegacy}
			}
			r = r.apply(s, r.Credentials())
		}
		out.routes[i] = r
	}
	return out
}

// MigrationRoutes are the table's migration routes.
func (t *Table) MigrationRoutes() []Route {
	var out []Route
	for _, r := range t.routes {
		if r.Migration != nil {
			out = append(out, r)
		}
	}
	return out
}
