package ports

import (
	"context"

	"github.com/lattice-platform/lattice/services/processing/domain"
)

// JobFilter selects jobs; empty fields match everything.
type JobFilter struct {
	State      domain.JobState
	Kind       domain.JobKind
	ResourceID string
}

// JobStore keeps job state.
type JobStore interface {
	// Create stores a new job; an existing id gives a fault.Conflict error.
	Create(ctx context.Context, j domain.Job) error
	// Get returns the job or domain.ErrJobNotFound.
	Get(ctx context.Context, id string) (domain.Job, error)
	// Update applies change to the current state and stores the result only
	// if nobody changed the job meanwhile, retrying change on a conflict, so
	// concurrent updates never lose one another. An error from change is
	// returned as is and nothing is stored.
	Update(ctx context.Context, id string, change func(domain.Job) (domain.Job, error)) (domain.Job, error)
	// List returns up to limit jobs matching f with ids after `after` ("" for
	// the first page), in id (creation) order.
	List(ctx context.Context, f JobFilter, after string, limit int) ([]domain.Job, error)
}

// JobQueue hands job ids to workers (the JOBS work-queue stream).
type JobQueue interface {
	// Enqueue adds a message for the job; the same dedupKey within the
	// queue's duplicate window is stored once.
	Enqueue(ctx context.Context, kind, jobID, dedupKey string) error
}
