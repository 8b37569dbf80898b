package app

import (
	"context"
	"errors"
	"time"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// LegacyUserKind is the kind of imported users in LegacyIDs.
const LegacyUserKind = "user"

// ImportedUser is a user of another system, as lattice import reads it:
// the password hash is kept as it is (package legacyhash verifies it, and
// the first login replaces it).
type ImportedUser struct {
	LegacyID     string // the row's key in the other system
	Email        string
	DisplayName  string
	PasswordHash string
	Admin        bool
	CreatedAt    time.Time // zero: now
}

// ImportResult says what importing a row did.
type ImportResult string

// The results of an import.
const (
	Imported  ImportResult = "created"
	Unchanged ImportResult = "unchanged" // imported before
	Skipped   ImportResult = "skipped"   // a bad row; Reason says why
)

// ImportOutcome is a row's result; ID is the user's id (for Imported,
// "" on a dry run).
type ImportOutcome struct {
	Result ImportResult
	ID     string
	Reason string
}

// Reasons a row is skipped.
const (
	ReasonInvalidEmail   = "invalid email"
	ReasonDuplicateEmail = "duplicate email"
	ReasonInvalidName    = "invalid display name"
	ReasonNoPassword     = "no usable password hash"
)

// maxImportedHash bounds a kept hash; no supported format comes near it.
const maxImportedHash = 512

// ImportUser makes in a user unless its legacy id was imported before.
// A bad row is skipped with a reason, never half-made. The user, its
// legacy id and the user.imported audit record are written together. With
// dryRun, nothing is written and the outcome is what would happen.
func (s *Accounts) ImportUser(ctx context.Context, in ImportedUser, dryRun bool) (ImportOutcome, error) {
	if s.legacy == nil {
		return ImportOutcome{}, errors.New("auth: this service was built without a legacy id table")
	}
	if id, err := s.legacy.Lookup(ctx, LegacyUserKind, in.LegacyID); err != nil || id != "" {
		return ImportOutcome{Result: Unchanged, ID: id}, err
	}
	email, err := domain.NormalizeEmail(in.Email)
	if err != nil {
		return ImportOutcome{Result: Skipped, Reason: ReasonInvalidEmail}, nil
	}
	name, err := domain.CleanDisplayName(in.DisplayName)
	if err != nil {
		return ImportOutcome{Result: Skipped, Reason: ReasonInvalidName}, nil
	}
	if in.PasswordHash == "" || len(in.PasswordHash) > maxImportedHash {
		return ImportOutcome{Result: Skipped, Reason: ReasonNoPassword}, nil
	}
	switch _, err := s.users.ByEmail(ctx, email); {
	case err == nil:
		return ImportOutcome{Result: Skipped, Reason: ReasonDuplicateEmail}, nil
	case !errors.Is(err, domain.ErrUserNotFound):
		return ImportOutcome{}, err
	}
	if dryRun {
		return ImportOutcome{Result: Imported}, nil
	}
	now := s.clock.Now()
	created := in.CreatedAt
	if created.IsZero() {
		created = now
	}
	role := domain.RoleUser
	if in.Admin {
		role = domain.RoleAdmin
	}
	u := domain.User{ID: newID(), Email: email, DisplayName: name, Role: role, PasswordHash: in.PasswordHash, CreatedAt: created.UTC(), UpdatedAt: now}
	err = s.rec.audited(ctx, audit{actor: actorOperator, action: "user.imported", target: "user/" + u.ID,
		details: map[string]any{"legacy_id": in.LegacyID, "role": string(role)}},
		func(ctx context.Context) error {
			if err := s.users.Create(ctx, u); err != nil {
				return err
			}
			return s.legacy.Record(ctx, LegacyUserKind, in.LegacyID, u.ID, now)
		})
	if errors.Is(err, domain.ErrEmailTaken) { // another row with this email came first
		return ImportOutcome{Result: Skipped, Reason: ReasonDuplicateEmail}, nil
	}
	if err != nil {
		return ImportOutcome{}, err
	}
	return ImportOutcome{Result: Imported, ID: u.ID}, nil
}

// ImportedUserID returns the id of the user an imported row became, or ""
// if that row was not imported; lattice import maps the owners of other
// imported rows with it.
func (s *Accounts) ImportedUserID(ctx context.Context, legacyID string) (string, error) {
	if s.legacy == nil {
		return "", errors.New("auth: this service was built without a legacy id table")
	}
	return s.legacy.Lookup(ctx, LegacyUserKind, legacyID)
}
