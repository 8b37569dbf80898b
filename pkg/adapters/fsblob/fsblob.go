// Package fsblob implements ports.BlobStore on a local directory: the
// default when no S3 endpoint is configured. Writes go to a temporary file
// that is renamed into place, so a reader never sees half a blob, and Put
// returns only once the blob and every directory entry leading to it are
// on disk: the resource service records a file after its blob is stored,
// and a crash must not leave a record whose blob is gone. Delete returns
// once the removal is on disk, for the same reason the other way round.
package fsblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Store is a directory of blobs.
type Store struct {
	root string
	// syncDir makes a directory's entries durable; a test counts its calls.
	syncDir func(dir string) error
}

var _ ports.BlobStore = (*Store)(nil)

// New returns a store rooted at dir, creating it if needed.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	return &Store{root: filepath.Clean(dir), syncDir: syncDir}, nil
}

// syncDir flushes dir's entries (names created, renamed or removed in it)
// to disk: fsync on the file alone leaves its name in the page cache.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// makeDirs creates dir and whichever of its parents below the root are
// missing, syncing the parent of each one it creates. A directory that
// exists costs one stat, as os.MkdirAll's would.
func (s *Store) makeDirs(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if dir == s.root { // path keeps every key below it, so the climb ends here
		return os.MkdirAll(dir, 0o750) // the root was removed under the store
	}
	parent := filepath.Dir(dir)
	if err := s.makeDirs(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	// Synced even when another Put created it first: that Put may not
	// have synced it yet, and this one must not return before it is.
	return s.syncDir(parent)
}

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)

func (s *Store) path(key string) (string, error) {
	if !keyPattern.MatchString(key) || strings.Contains(key, "..") {
		return "", fmt.Errorf("fsblob: invalid key %q", key)
	}
	p := filepath.Join(s.root, filepath.FromSlash(key))
	if p == s.root { // "." or "./.": the root itself, whose directory is outside the store
		return "", fmt.Errorf("fsblob: invalid key %q", key)
	}
	return p, nil
}

// Put writes r to key.
func (s *Store) Put(_ context.Context, key string, r io.Reader, _ string) (int64, error) {
	p, err := s.path(key)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(p)
	if err := s.makeDirs(dir); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(tmp, r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		// Only before the rename: after it, the name could be another
		// Put's new temporary file.
		_ = os.Remove(tmp.Name())
		return 0, err
	}
	// The blob is in place, but its name is durable only once its
	// directory is synced; until then the upload is not reported stored.
	if err := s.syncDir(dir); err != nil {
		return 0, err
	}
	return n, nil
}

// Open returns a section of the blob.
func (s *Store) Open(_ context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ports.ErrBlobNotFound
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	if length < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, length), f}, nil
}

// Delete removes the blob, and returns once its removal is on disk: the
// purge deletes a file's row after its blob, and a blob back after a crash
// would be bytes no row names, never erased. A blob already gone is not an
// error, but its directory is synced all the same, since the call that
// removed it may have failed before its sync.
func (s *Store) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := s.syncDir(filepath.Dir(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
