package ports

import (
	"context"
	"io"
)

// BlobStore keeps opaque byte streams under keys made of letters, digits
// and "/_.-" (no "..").
type BlobStore interface {
	// Put stores everything r yields under key, replacing any blob there, and
	// returns the number of bytes stored. A reader error aborts the put
	// and nothing is stored.
	Put(ctx context.Context, key string, r io.Reader, contentType string) (int64, error)
	// Open returns length bytes of the blob from offset (length < 0: to the
	// end), or ErrBlobNotFound.
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Delete removes the blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, key string) error
}

// ErrBlobNotFound is returned for a key with no blob.
var ErrBlobNotFound = blobErr("blob not found")

type blobErr string

func (e blobErr) Error() string { return string(e) }
