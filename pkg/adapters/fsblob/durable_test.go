package fsblob

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// syncRecorder stands in for syncDir, keeping the directories it was asked
// to sync (relative to root) and failing when fail is set.
type syncRecorder struct {
	root   string
	synced []string
	fail   error
}

func (r *syncRecorder) sync(dir string) error {
	rel, err := filepath.Rel(r.root, dir)
	if err != nil {
		return err
	}
	r.synced = append(r.synced, filepath.ToSlash(rel))
	if r.fail != nil {
		return r.fail
	}
	return syncDir(dir)
}

func newRecorded(t *testing.T) (*Store, *syncRecorder) {
	t.Helper()
	s, err := New(t.TempDir())
	require.NoError(t, err)
	rec := &syncRecorder{root: s.root}
	s.syncDir = rec.sync
	return s, rec
}

func TestPutSyncsEveryDirectoryEntryItMade(t *testing.T) {
	ctx := context.Background()
	s, rec := newRecorded(t)

	_, err := s.Put(ctx, "resources/r1/files/f1", strings.NewReader("one"), "")
	require.NoError(t, err)
	// Each new directory's parent, top down, then the blob's own directory
	// for the rename.
	require.Equal(t, []string{".", "resources", "resources/r1", "resources/r1/files"}, rec.synced)

	rec.synced = nil
	_, err = s.Put(ctx, "resources/r1/files/f2", strings.NewReader("two"), "")
	require.NoError(t, err)
	require.Equal(t, []string{"resources/r1/files"}, rec.synced, "directories that exist are not synced again")

	rec.synced = nil
	_, err = s.Put(ctx, "resources/r2/files/f1", strings.NewReader("three"), "")
	require.NoError(t, err)
	require.Equal(t, []string{"resources", "resources/r2", "resources/r2/files"}, rec.synced)
}

func TestPutFailsWhenItsNameCannotBeMadeDurable(t *testing.T) {
	ctx := context.Background()
	s, rec := newRecorded(t)
	_, err := s.Put(ctx, "k/blob", strings.NewReader("first"), "")
	require.NoError(t, err)

	rec.fail = errors.New("disk gone")
	_, err = s.Put(ctx, "k/blob", strings.NewReader("second"), "")
	require.ErrorIs(t, err, rec.fail)

	// No temporary file is left beside the blob.
	entries, err := os.ReadDir(filepath.Join(s.root, "k"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "blob", entries[0].Name())
}

func TestPutRecreatesARemovedRoot(t *testing.T) {
	s, rec := newRecorded(t)
	require.NoError(t, os.RemoveAll(s.root))
	n, err := s.Put(context.Background(), "a/b", strings.NewReader("back"), "")
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
	require.Equal(t, []string{".", "a"}, rec.synced)
}

func TestDeleteSyncsTheBlobsDirectory(t *testing.T) {
	ctx := context.Background()
	s, rec := newRecorded(t)
	_, err := s.Put(ctx, "resources/r1/files/f1", strings.NewReader("gone soon"), "")
	require.NoError(t, err)

	rec.synced = nil
	require.NoError(t, s.Delete(ctx, "resources/r1/files/f1"))
	require.Equal(t, []string{"resources/r1/files"}, rec.synced)
	require.NoFileExists(t, filepath.Join(s.root, "resources/r1/files/f1"))

	// A retry after a failed sync finds the blob gone and syncs again.
	rec.synced, rec.fail = nil, errors.New("disk gone")
	_, err = s.Put(ctx, "resources/r1/files/f2", strings.NewReader("x"), "")
	require.ErrorIs(t, err, rec.fail)
	require.ErrorIs(t, s.Delete(ctx, "resources/r1/files/f2"), rec.fail)
	rec.synced, rec.fail = nil, nil
	require.NoError(t, s.Delete(ctx, "resources/r1/files/f2"))
	require.Equal(t, []string{"resources/r1/files"}, rec.synced)

	// A key whose directory never existed is simply not there.
	rec.synced = nil
	require.NoError(t, s.Delete(ctx, "resources/r9/files/f1"))
}

func TestKeysNamingTheRootAreRefused(t *testing.T) {
	s, rec := newRecorded(t)
	parent := filepath.Dir(s.root)
	before, err := os.ReadDir(parent)
	require.NoError(t, err)
	for _, key := range []string{".", "./.", "./"} {
		_, err := s.Put(context.Background(), key, strings.NewReader("x"), "")
		require.ErrorContains(t, err, "invalid key", key)
		require.ErrorContains(t, s.Delete(context.Background(), key), "invalid key", key)
	}
	after, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Equal(t, len(before), len(after), "nothing written beside the store")
	require.Empty(t, rec.synced)
}

// BenchmarkPut stores 100 KiB blobs, the journeys' upload size, into a
// resource directory that exists, as most uploads do; "no directory sync"
// is the store before its names were made durable, for comparison.
func BenchmarkPut(b *testing.B) {
	body := strings.Repeat("lattice ", 100<<10/8)
	for _, c := range []struct {
		name string
		sync func(string) error
	}{{"directory synced", syncDir}, {"no directory sync", func(string) error { return nil }}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := New(b.TempDir())
			require.NoError(b, err)
			s.syncDir = c.sync
			ctx := context.Background()
			i := 0
			for b.Loop() {
				i++
				if _, err := s.Put(ctx, "resources/r1/files/f"+strconv.Itoa(i), strings.NewReader(body), ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
