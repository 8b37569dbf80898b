package ports

import (
	"context"
	"io"

	"github.com/lattice-platform/lattice/services/processing/domain"
)

// TextExtractor turns a file into plain text for chunking and indexing.
type TextExtractor interface {
	// Extract reads r (of the given content type) and returns its text. It
	// returns a fault.UnsupportedMedia error for types it does not handle and
	// a fault.Invalid error for content it cannot parse (a corrupt file).
	Extract(ctx context.Context, contentType string, r io.Reader) (string, error)
}

// Embedder turns texts into vectors.
type Embedder interface {
	// Model names the model; vectors of different models never mix.
	Model() string
	// Dimensions is the length of every vector.
	Dimensions() int
	// Embed returns one vector per text, in order. A fault.Unavailable error
	// means the model could not be reached and the call may be retried.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
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

// ResourceAccess asks the resource service what a caller may see, so that
// other services never decide visibility on their own.
type ResourceAccess interface {
	// CheckRead returns nil when the holder of bearer ("" for anonymous)
	// may read the resource, and a fault.NotFound error otherwise.
	CheckRead(ctx context.Context, bearer, resourceID string) error
	// Readable returns those of ids (at most MaxAccessCheck) that the
	// holder of bearer may read, in the order given, in one call;
	// unreadable and missing resources are left out alike.
	Readable(ctx context.Context, bearer string, ids []string) ([]string, error)
}

// MaxAccessCheck is the most ids one ResourceAccess.Readable call takes.
const MaxAccessCheck = 100
