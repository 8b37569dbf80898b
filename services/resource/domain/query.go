package domain

import (
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// SortField orders a listing (always newest first).
type SortField string

// The sort fields.
const (
	SortCreated SortField = "created_at"
	SortUpdated SortField = "updated_at"
)

// ListQuery selects one page of resources.
type ListQuery struct {
	Caller       Caller
	Owner        string
	Tag          string
	Visibility   Visibility
	MetaKey      string
	MetaValue    string
	UpdatedSince time.Time
	Sort         SortField
	Limit        int
	// After is the position of the last item of the previous page.
	After *Position
}

// Position is a keyset cursor: the sort value and id of an item.
type Position struct {
	Time time.Time
	ID   string
}

// VersionInfo describes one stored version.
type VersionInfo struct {
	Version   int64
	CreatedAt time.Time
}

// ErrVersionNotFound is returned for a version that does not exist.
var ErrVersionNotFound = fault.New(fault.NotFound, "version not found")

// IdempotencyRecord is the remembered outcome of a create request: the
// resource as it was created, replayed to a retry with the same key.
type IdempotencyRecord struct {
	Caller      string
	Key         string
	RequestHash []byte
	Status      int
	Response    []byte
	ResourceID  string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

// Idempotency errors.
var (
	ErrIdempotencyKeyUsed     = fault.New(fault.Conflict, "this Idempotency-Key is being used by another request")
	ErrIdempotencyKeyMismatch = fault.New(fault.Unprocessable, "this Idempotency-Key was used with a different request body")
)
