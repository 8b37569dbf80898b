package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// LegacyUserKind is the kind of the users rows lattice import brought
// over, whose Lattice ids the change feed maps owners to.
const LegacyUserKind = "user"

// RecordLegacyUser notes which Lattice user a legacy users row became, so
// the change feed (SyncLegacy) can give new resources their owner.
// Recording the same pair again is harmless.
func (s *Service) RecordLegacyUser(ctx context.Context, legacyID, userID string) error {
	if s.deps.Imports == nil {
		return errors.New("resource: this service was built without an import store")
	}
	err := s.deps.Imports.RecordImport(ctx, LegacyUserKind, legacyID, userID, s.deps.Clock.Now())
	if fault.Of(err, fault.Conflict) {
		return nil
	}
	return err
}

// LegacyChange is one write of the system being replaced, sent through the
// change feed while its write routes are not cut over yet: the resource
// with that legacy id as it now is there.
type LegacyChange struct {
	LegacyID      string
	OwnerLegacyID string
	Input
	CreatedAt time.Time // for a new one; zero: now
	UpdatedAt time.Time // when the other system changed it; orders the changes
}

// SyncResult says what a change did.
type SyncResult string

// The results of a change.
const (
	SyncCreated   SyncResult = "created"
	SyncUpdated   SyncResult = "updated"
	SyncUnchanged SyncResult = "unchanged" // a repeat, or older than what Lattice has
)

// MaxLegacyID bounds a legacy id.
const MaxLegacyID = 255

// errNotNewer ends an update that would not move the resource forward.
var errNotNewer = errors.New("not newer")

// SyncLegacy applies a change of the other system to Lattice's copy, for
// callers with the admin scope: a legacy id seen for the first time makes
// a resource (as lattice import would), a known one is replaced with the
// change's fields when the change is newer than the copy. A change is
// applied once however often it is sent, and an older one never undoes a
// newer: the copy's updated_at is the other system's. Events flow through
// the outbox as for any write, so search has it within seconds.
func (s *Service) SyncLegacy(ctx context.Context, c domain.Caller, in LegacyChange) (domain.Resource, SyncResult, error) {
	if err := checkFeedCaller(c); err != nil {
		return domain.Resource{}, "", err
	}
	if in.LegacyID == "" || len(in.LegacyID) > MaxLegacyID {
		return domain.Resource{}, "", fault.InvalidField("legacy_id", fmt.Sprintf("must be 1 to %d bytes", MaxLegacyID))
	}
	if in.UpdatedAt.IsZero() {
		return domain.Resource{}, "", fault.InvalidField("updated_at", "is required: it orders the changes")
	}
	known, err := s.ImportedIDs(ctx, LegacyResourceKind, []string{in.LegacyID})
	if err != nil {
		return domain.Resource{}, "", err
	}
	id, ok := known[in.LegacyID]
	if !ok {
		return s.syncNew(ctx, in)
	}
	// The change is the other system's latest: no If-Match to hold it to.
	r, err := s.change(ctx, c, id, Precondition{Present: true, Any: true}, in.withDefaults().applyTo, in.UpdatedAt.UTC())
	if errors.Is(err, errNotNewer) {
		cur, err := s.deps.Resources.Get(ctx, id)
		return cur, SyncUnchanged, err
	}
	return r, SyncUpdated, err
}

func (s *Service) syncNew(ctx context.Context, in LegacyChange) (domain.Resource, SyncResult, error) {
	owners, err := s.deps.Imports.Imported(ctx, LegacyUserKind, []string{in.OwnerLegacyID})
	if err != nil {
		return domain.Resource{}, "", err
	}
	out, err := s.ImportResources(ctx, []ImportedResource{{
		LegacyID: in.LegacyID, OwnerID: owners[in.OwnerLegacyID], Input: in.Input, CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt,
	}}, false)
	if err != nil {
		return domain.Resource{}, "", err
	}
	switch o := out[0]; o.Result {
	case Skipped:
		if o.Reason == ReasonOwnerNotImported {
			return domain.Resource{}, "", fault.InvalidField("owner", "this legacy user was not imported: run lattice import for users first")
		}
		return domain.Resource{}, "", fault.InvalidField("resource", o.Reason)
	case Unchanged: // another delivery of the same change made it first
		r, err := s.deps.Resources.Get(ctx, o.ID)
		return r, SyncUnchanged, err
	default:
		r, err := s.deps.Resources.Get(ctx, o.ID)
		return r, SyncCreated, err
	}
}

// SyncLegacyDelete deletes Lattice's copy of a resource the other system
// deleted. A legacy id never seen, or a copy already deleted, is not an
// error: deletes are idempotent.
func (s *Service) SyncLegacyDelete(ctx context.Context, c domain.Caller, legacyID string) error {
	if err := checkFeedCaller(c); err != nil {
		return err
	}
	if legacyID == "" || len(legacyID) > MaxLegacyID {
		return fault.InvalidField("legacy_id", fmt.Sprintf("must be 1 to %d bytes", MaxLegacyID))
	}
	known, err := s.ImportedIDs(ctx, LegacyResourceKind, []string{legacyID})
	if err != nil {
		return err
	}
	id, ok := known[legacyID]
	if !ok {
		return nil
	}
	if err := s.Delete(ctx, c, id, Precondition{Present: true, Any: true}); err != nil && !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	return nil
}

// checkFeedCaller lets only admins feed changes.
func checkFeedCaller(c domain.Caller) error {
	switch {
	case c.Anonymous():
		return fault.New(fault.Unauthenticated, "a valid bearer credential is required")
	case !c.Admin():
		return fault.New(fault.Forbidden, "the change feed needs the "+domain.ScopeAdmin+" scope")
	}
	return nil
}
