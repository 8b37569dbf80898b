package memory

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// BlobStore is an in-memory ports.BlobStore.
type BlobStore struct {
	mu    sync.Mutex
	blobs map[string][]byte
}

var _ ports.BlobStore = (*BlobStore)(nil)

// NewBlobStore returns an empty store.
func NewBlobStore() *BlobStore { return &BlobStore{blobs: map[string][]byte{}} }

// Put reads r whole, then stores it: a failing reader stores nothing.
func (s *BlobStore) Put(_ context.Context, key string, r io.Reader, _ string) (int64, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs[key] = b
	return int64(len(b)), nil
}

// Open returns a section of a blob.
func (s *BlobStore) Open(_ context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[key]
	if !ok {
		return nil, ports.ErrBlobNotFound
	}
	b = b[min(offset, int64(len(b))):]
	if length >= 0 && length < int64(len(b)) {
		b = b[:length]
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Delete removes a blob.
func (s *BlobStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.blobs, key)
	return nil
}
