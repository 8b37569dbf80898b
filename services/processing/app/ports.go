package app

import (
	"context"
	"io"

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

// TextExtractor turns a file into plain text for chunking and indexing.
type TextExtractor interface {
	// Extract reads r (of the given content type) and returns its text. It
	// returns a fault.UnsupportedMedia error for types it does not handle and
	// a fault.Invalid error for content it cannot parse (a corrupt file).
	Extract(ctx context.Context, contentType string, r io.Reader) (string, error)
}

// ContentSource reads what jobs process. Both methods return a
// fault.NotFound error when the resource or file is gone (deleted since
// the job was queued).
type ContentSource interface {
	// ResourceText returns a resource's title and body at its current
	// version.
	ResourceText(ctx context.Context, resourceID string) (title, body string, version int64, err error)
	// FileContent opens a file's bytes and tells its content type.
	FileContent(ctx context.Context, resourceID, fileID string) (r io.ReadCloser, contentType string, err error)
	// FileIDs lists a resource's files that have not been rejected.
	FileIDs(ctx context.Context, resourceID string) ([]string, error)
}

// ChunkSink receives processing results (the chunks.ready and
// file.rejected events).
type ChunkSink interface {
	// Ready delivers the chunks of one text.
	Ready(ctx context.Context, c domain.ChunksReady) error
	// Rejected reports a file that cannot be processed, so the resource
	// service can mark it rejected.
	Rejected(ctx context.Context, resourceID, fileID, reason string) error
}
