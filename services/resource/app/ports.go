package app

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// ResourceRepository stores resources, their versions and the events their
// changes cause. Each method is one transaction.
type ResourceRepository interface {
	// Create stores r as version 1 with its events and, when idem is not
	// nil, the idempotency record, all in one transaction. If a live record
	// for the same caller and key exists, nothing is stored and
	// domain.ErrIdempotencyKeyUsed is returned. A duplicate id gives a
	// fault.Conflict error.
	Create(ctx context.Context, r domain.Resource, events []ports.Event, idem *domain.IdempotencyRecord) error
	// Get returns a live resource, or domain.ErrNotFound (also for deleted
	// ones).
	Get(ctx context.Context, id string) (domain.Resource, error)
	// Update locks the resource, calls change with its current state, and
	// stores what change returns as a new version together with the events.
	// An error from change aborts and is returned as is; a missing resource
	// gives domain.ErrNotFound. Concurrent updates of one resource serialise.
	Update(ctx context.Context, id string, change func(domain.Resource) (domain.Resource, []ports.Event, error)) (domain.Resource, error)
	// Delete soft-deletes the resource after check approves its current
	// state, storing check's events in the same transaction.
	Delete(ctx context.Context, id string, at time.Time, check func(domain.Resource) ([]ports.Event, error)) error
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

// FileRepository stores the files attached to resources. Each method is one
// transaction that locks the parent resource, so files never attach to a
// resource being deleted.
type FileRepository interface {
	// AddFile records f after check approves the (live) parent resource,
	// storing check's events with it; a missing parent gives
	// domain.ErrNotFound.
	AddFile(ctx context.Context, f domain.File, check func(domain.Resource) ([]ports.Event, error)) error
	// Files lists a resource's live files, oldest first.
	Files(ctx context.Context, resourceID string) ([]domain.File, error)
	// File returns one live file, or domain.ErrFileNotFound.
	File(ctx context.Context, resourceID, fileID string) (domain.File, error)
	// DeleteFile soft-deletes a file after check approves, storing check's
	// events with it.
	DeleteFile(ctx context.Context, resourceID, fileID string, at time.Time, check func(domain.Resource, domain.File) ([]ports.Event, error)) error
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
