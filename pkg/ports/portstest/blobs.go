package portstest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// BlobStore checks a ports.BlobStore.
func BlobStore(t *testing.T, newStore func(t *testing.T) ports.BlobStore) {
	ctx := context.Background()
	read := func(t *testing.T, s ports.BlobStore, key string, off, n int64) string {
		t.Helper()
		rc, err := s.Open(ctx, key, off, n)
		require.NoError(t, err)
		defer rc.Close()
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		return string(b)
	}

	t.Run("put, read ranges, replace, delete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		n, err := s.Put(ctx, "resources/r1/files/f1", strings.NewReader("hello, blob world"), "text/plain")
		require.NoError(t, err)
		require.EqualValues(t, 17, n)
		require.Equal(t, "hello, blob world", read(t, s, "resources/r1/files/f1", 0, -1))
		require.Equal(t, "blob", read(t, s, "resources/r1/files/f1", 7, 4))
		require.Equal(t, "world", read(t, s, "resources/r1/files/f1", 12, -1))

		_, err = s.Put(ctx, "resources/r1/files/f1", strings.NewReader("v2"), "text/plain")
		require.NoError(t, err)
		require.Equal(t, "v2", read(t, s, "resources/r1/files/f1", 0, -1))

		require.NoError(t, s.Delete(ctx, "resources/r1/files/f1"))
		_, err = s.Open(ctx, "resources/r1/files/f1", 0, -1)
		require.ErrorIs(t, err, ports.ErrBlobNotFound)
		require.NoError(t, s.Delete(ctx, "resources/r1/files/f1"), "deleting a missing blob is fine")
	})

	t.Run("large streams of unknown length", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		big := bytes.Repeat([]byte("0123456789abcdef"), 12<<16) // 12 MiB: several S3 parts
		n, err := s.Put(ctx, "big", io.MultiReader(bytes.NewReader(big[:1<<20]), bytes.NewReader(big[1<<20:])), "application/octet-stream")
		require.NoError(t, err)
		require.EqualValues(t, len(big), n)
		require.Equal(t, string(big[len(big)-10:]), read(t, s, "big", int64(len(big)-10), 10))
	})

	t.Run("a failing reader stores nothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		_, err := s.Put(ctx, "broken", io.MultiReader(strings.NewReader("partial"), errReader{}), "text/plain")
		require.Error(t, err)
		_, err = s.Open(ctx, "broken", 0, -1)
		require.ErrorIs(t, err, ports.ErrBlobNotFound)
	})

	t.Run("keys that escape are refused", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, k := range []string{"../etc/passwd", "a/../../b"} {
			_, err := s.Put(ctx, k, strings.NewReader("x"), "text/plain")
			if err == nil { // S3 keys are opaque: then it must at least stay inside the store
				_, oerr := s.Open(ctx, k, 0, -1)
				require.NoError(t, oerr, k)
			}
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
