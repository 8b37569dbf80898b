package app

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/services/resource/domain"
)

// ResourceRepository stores resources and their versions. Its writes join
// the unit of work the context carries (ports.Transactor, ADR 0017), in
// which the use case adds the change's events to the outbox; called
// without one, each write is a transaction of its own.
type ResourceRepository interface {
	// Create stores r as version 1 and, when idem is not nil, the
	// idempotency record. If a live record for the same caller and key
	// exists, nothing is stored and domain.ErrIdempotencyKeyUsed is
	// returned. A duplicate id gives a fault.Conflict error.
	Create(ctx context.Context, r domain.Resource, idem *domain.IdempotencyRecord) error
	// Get returns a live resource, or domain.ErrNotFound (also for deleted
	// ones).
	Get(ctx context.Context, id string) (domain.Resource, error)
	// Update locks the resource, calls change with its current state, and
	// stores what change returns as a new version. An error from change
	// aborts and is returned as is; a missing resource gives
	// domain.ErrNotFound. Concurrent updates of one resource serialise (the
	// lock is held until the unit of work ends).
	Update(ctx context.Context, id string, change func(domain.Resource) (domain.Resource, error)) (domain.Resource, error)
	// Delete locks the resource and soft-deletes it after check approves
	// its current state.
	Delete(ctx context.Context, id string, at time.Time, check func(domain.Resource) error) error
	// List returns one page of resources q.Caller may read.
	List(ctx context.Context, q domain.ListQuery) ([]domain.Resource, error)
	// Versions lists the resource's versions, newest first.
	Versions(ctx context.Context, id string) ([]domain.VersionInfo, error)
	// Version returns the resource as it was at version n, or
	// domain.ErrVersionNotFound.
	Version(ctx context.Context, id string, n int64) (domain.Resource, error)
}

// IdempotencyStore reads the records ResourceRepository.Create writes.
type IdempotencyStore interface {
	// Lookup returns the live record for (caller, key), or ok false.
	Lookup(ctx context.Context, caller, key string, now time.Time) (rec domain.IdempotencyRecord, ok bool, err error)
}

// FileRepository stores the files attached to resources. Its writes lock
// the parent resource, so files never attach to a resource being deleted,
// and join the context's unit of work as ResourceRepository's do.
type FileRepository interface {
	// AddFile records f after check approves the (live) parent resource; a
	// missing parent gives domain.ErrNotFound.
	AddFile(ctx context.Context, f domain.File, check func(domain.Resource) error) error
	// Files lists a resource's live files, oldest first.
	Files(ctx context.Context, resourceID string) ([]domain.File, error)
	// File returns one live file, or domain.ErrFileNotFound.
	File(ctx context.Context, resourceID, fileID string) (domain.File, error)
	// DeleteFile soft-deletes a file after check approves it and its
	// (locked) parent.
	DeleteFile(ctx context.Context, resourceID, fileID string, at time.Time, check func(domain.Resource, domain.File) error) error
	// RejectFile marks a file rejected with a reason; doing it again is
	// harmless. A missing file gives domain.ErrFileNotFound.
	RejectFile(ctx context.Context, resourceID, fileID, reason string) error
}

// Purger finishes deletions once their grace period has passed.
type Purger interface {
	// PurgeableFiles returns up to limit files deleted before cutoff, or
	// whose resource was deleted before it.
	PurgeableFiles(ctx context.Context, cutoff time.Time, limit int) ([]domain.File, error)
	// ForgetFiles removes file rows whose blobs are gone.
	ForgetFiles(ctx context.Context, ids []string) error
	// PurgeResources removes up to limit resources deleted before cutoff
	// that have no files left, with their versions, tags and metadata, and
	// returns how many it removed.
	PurgeResources(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// Importer stores what lattice import brings from another system (ADR
// 0021), remembering each row's legacy id so no row is imported twice. Its
// writes join the context's unit of work.
type Importer interface {
	// Imported returns those of legacyIDs (rows of kind) imported before,
	// each with the id it became.
	Imported(ctx context.Context, kind string, legacyIDs []string) (map[string]string, error)
	// ImportResources stores each resource as version 1, with its tags,
	// metadata and legacy id (kind LegacyResourceKind). A legacy id
	// recorded before gives a fault.Conflict error.
	ImportResources(ctx context.Context, rs []LegacyResource, at time.Time) error
	// RecordImport notes that the row of kind became id; a second note of
	// the same row gives a fault.Conflict error.
	RecordImport(ctx context.Context, kind, legacyID, id string, at time.Time) error
}

// LegacyResource is an imported resource and the key of the row it came
// from.
type LegacyResource struct {
	LegacyID string
	Resource domain.Resource
}
