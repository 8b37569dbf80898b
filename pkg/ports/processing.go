package ports

import (
	"context"
	"io"
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
