package ports

import (
	"context"
)

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
