// Package migration is the gateway's route-by-route cut-over from the
// system Lattice replaces: each migration route's state (legacy, shadow,
// canary N%, lattice), kept in a store every gateway replica shares and
// watches, and the use cases that change it. A change made through any
// replica reaches every replica's routing within the store's watch delay.
package migration

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/gateway/domain"
)

// Store keeps the migration routes' states. Revisions are the store's:
// every write gets a higher one than any before it, on any route.
type Store interface {
	// Watch calls update with every stored state, then loaded, then update
	// with each change, in revision order, until ctx ends or the store
	// fails.
	Watch(ctx context.Context, update func(prefix string, s domain.MigrationState, rev uint64), loaded func()) error
	// Get returns a route's state and its revision (0: none stored).
	Get(ctx context.Context, prefix string) (domain.MigrationState, uint64, error)
	// Put stores s if the route's revision is still rev (0: none stored)
	// and returns the new revision; a change by another writer in between
	// gives a fault.Conflict error.
	Put(ctx context.Context, prefix string, s domain.MigrationState, rev uint64) (uint64, error)
}

// ApplyWait bounds how long a change waits for the watch to bring it back
// to the replica that made it. A change is answered once that replica
// routes by it, so a caller's next request already takes the new path;
// a watch slower than this (the store failing over) only delays the
// change on this replica, as on the others.
const ApplyWait = 10 * time.Second

// Service runs the use cases over a Store, and keeps the states it has
// seen for the gateway (Apply).
type Service struct {
	store  Store
	routes func() []domain.Route // the migration routes of the table in force
	clock  ports.Clock
	apply  func(map[string]domain.MigrationState)

	audit     ports.AuditTrail // nil: changes are not audited
	applyWait time.Duration

	mu      sync.Mutex
	states  map[string]domain.MigrationState
	loaded  bool
	applied uint64        // the newest revision applied
	changed chan struct{} // closed, and replaced, when applied grows
}

// AuditTo makes every state change an audit record (stream AUDIT): a
// person's change is recorded before it is made, and refused if it cannot
// be; an automatic rollback is made first, since a failing canary must
// stop whatever the audit trail's health.
func (s *Service) AuditTo(trail ports.AuditTrail) { s.audit = trail }

// New returns a service; apply receives every new set of states.
func New(store Store, routes func() []domain.Route, clock ports.Clock, apply func(map[string]domain.MigrationState)) *Service {
	return &Service{store: store, routes: routes, clock: clock, apply: apply, states: map[string]domain.MigrationState{}, changed: make(chan struct{}), applyWait: ApplyWait}
}

// Run follows the store until ctx ends or the store fails; run it again
// after a failure.
func (s *Service) Run(ctx context.Context) error {
	return s.store.Watch(ctx, func(prefix string, st domain.MigrationState, rev uint64) {
		s.mu.Lock()
		s.states[prefix] = st
		states := maps.Clone(s.states)
		s.mu.Unlock()
		// Applied before the revision is announced: a change waiting for
		// it is answered only once the gateway routes by it.
		s.apply(states)
		s.mu.Lock()
		if rev > s.applied {
			s.applied = rev
			close(s.changed)
			s.changed = make(chan struct{})
		}
		s.mu.Unlock()
	}, func() {
		s.mu.Lock()
		s.loaded = true
		s.mu.Unlock()
	})
}

// Loaded reports whether the stored states have been read once: until
// then, the gateway must not serve, or a route already on Lattice would
// briefly go back to the monolith.
func (s *Service) Loaded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loaded
}

// RouteStatus is a migration route as it stands.
type RouteStatus struct {
	Prefix  string
	Legacy  string // the upstream being replaced
	Lattice string // the upstream replacing it
	State   domain.MigrationState
}

// Status lists the migration routes in prefix order.
func (s *Service) Status() []RouteStatus {
	var out []RouteStatus
	for _, r := range s.routes() {
		out = append(out, RouteStatus{Prefix: r.Prefix, Legacy: r.Upstream, Lattice: r.Migration.Lattice, State: r.State})
	}
	slices.SortFunc(out, func(a, b RouteStatus) int { return strings.Compare(a.Prefix, b.Prefix) })
	return out
}

// Promote moves the route one phase towards Lattice (domain.
// MigrationState.Promote); by names who asked, for the record.
func (s *Service) Promote(ctx context.Context, prefix string, percent int, by, reason string) (domain.MigrationState, error) {
	return s.change(ctx, prefix, by, reason, "migration.promote", func(cur domain.MigrationState, r domain.Route) (domain.MigrationState, error) {
		return cur.Promote(percent, r.Credentials())
	})
}

// Rollback sends the route back to the monolith.
func (s *Service) Rollback(ctx context.Context, prefix, by, reason string) (domain.MigrationState, error) {
	return s.change(ctx, prefix, by, reason, "migration.rollback", func(cur domain.MigrationState, _ domain.Route) (domain.MigrationState, error) {
		return cur.Rollback()
	})
}

// AutomaticActor is who an automatic rollback names.
const AutomaticActor = "gateway"

// rollBackCanary is the Guard's rollback of the canary state it judged:
// a state changed since (promoted, or rolled back by another replica) is
// left alone.
func (s *Service) rollBackCanary(ctx context.Context, prefix string, judged domain.MigrationState, reason string) (domain.MigrationState, error) {
	return s.change(ctx, prefix, AutomaticActor, reason, "migration.canary_rollback", func(cur domain.MigrationState, _ domain.Route) (domain.MigrationState, error) {
		if cur.Phase != domain.PhaseCanary || !cur.UpdatedAt.Equal(judged.UpdatedAt) {
			return cur, fault.New(fault.Conflict, "the canary changed since it was judged")
		}
		return cur.Rollback()
	})
}

// MaxReason bounds the reason a change records.
const MaxReason = 500

func (s *Service) change(ctx context.Context, prefix, by, reason, action string, step func(domain.MigrationState, domain.Route) (domain.MigrationState, error)) (domain.MigrationState, error) {
	if len(reason) > MaxReason {
		return domain.MigrationState{}, fault.InvalidField("reason", fmt.Sprintf("must be at most %d bytes", MaxReason))
	}
	routes := s.routes()
	i := slices.IndexFunc(routes, func(r domain.Route) bool { return r.Prefix == prefix })
	if i < 0 {
		return domain.MigrationState{}, domain.ErrNotMigrating
	}
	route := routes[i]
	cur, rev, err := s.store.Get(ctx, prefix)
	if err != nil {
		return domain.MigrationState{}, err
	}
	if rev == 0 {
		cur = domain.MigrationState{Phase: domain.PhaseLegacy}
	}
	next, err := step(cur, route)
	if err != nil {
		return domain.MigrationState{}, err
	}
	next.UpdatedAt, next.UpdatedBy, next.Reason = s.clock.Now().UTC(), by, reason
	automatic := by == AutomaticActor
	record := ports.AuditEntry{Actor: by, Action: action, Target: "route" + prefix, Details: map[string]any{
		"from": string(cur.Phase), "from_percent": cur.Percent, "to": string(next.Phase), "to_percent": next.Percent, "reason": reason,
	}}
	if s.audit != nil && !automatic {
		if err := s.audit.Record(ctx, record); err != nil {
			return domain.MigrationState{}, fault.Wrap(fault.Unavailable, "the change could not be audited, so it was not made", err)
		}
	}
	stored, err := s.store.Put(ctx, prefix, next, rev)
	if err != nil {
		return domain.MigrationState{}, err
	}
	s.awaitApplied(ctx, stored)
	if s.audit != nil && automatic {
		if err := s.audit.Record(context.WithoutCancel(ctx), record); err != nil {
			return next, fmt.Errorf("rolled back, but not audited: %w", err)
		}
	}
	return next, nil
}

// awaitApplied waits, at most applyWait, until this replica routes by
// revision rev. The change is stored whatever happens here, so running
// out of time is not an error: the watch applies it when it catches up.
func (s *Service) awaitApplied(ctx context.Context, rev uint64) {
	deadline := time.NewTimer(s.applyWait)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		applied, changed := s.applied, s.changed
		s.mu.Unlock()
		if applied >= rev {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
