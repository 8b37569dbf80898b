package legacyimport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	resapp "github.com/lattice-platform/lattice/services/resource/app"
)

// Reasons a file is skipped before the resource service sees it: a path
// that leaves the files directory (absolute, "..", a symbolic link out),
// and a file that cannot be read (permissions, a directory).
const (
	ReasonPathOutside = "path outside the files directory"
	ReasonUnreadable  = "unreadable file"
)

// ImportFiles reads the files table in key order and copies each file
// under root into the blob store, Workers files at once.
func (r *Run) ImportFiles(ctx context.Context, m FilesMapping, root string) (Counts, error) {
	r.defaults()
	c := Counts{Kind: "files"}
	if root == "" {
		return c, errors.New("files: no files directory: set root in the mapping or give --files-dir")
	}
	dir, err := os.OpenRoot(root) // every open stays beneath root
	if err != nil {
		return c, fmt.Errorf("files: %w", err)
	}
	defer dir.Close()
	total, err := r.Source.count(ctx, m.Table)
	if err != nil {
		return c, fmt.Errorf("files: count: %w", err)
	}
	p := newProgress(r.Options, "files", total)
	var mu sync.Mutex // guards c and p
	var after any
	for {
		rows, err := r.Source.files(ctx, m, after, min(r.Page, resapp.MaxImportBatch))
		if err != nil {
			return c, fmt.Errorf("files: read after %v: %w", after, err)
		}
		parents, done, err := r.fileLookups(ctx, rows)
		if err != nil {
			return c, fmt.Errorf("files: %w", err)
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(r.Workers)
		for _, row := range rows {
			g.Go(func() error {
				result, reason := "unchanged", ""
				if done[row.legacyID] == "" {
					out, err := r.importFile(gctx, dir, row, parents[row.resource])
					if err != nil {
						return fmt.Errorf("files: legacy id %s: %w", row.legacyID, err)
					}
					result, reason = string(out.Result), out.Reason
				}
				mu.Lock()
				defer mu.Unlock()
				c.add(result, reason, row.legacyID)
				p.tick(c.Total)
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return c, err
		}
		if len(rows) < min(r.Page, resapp.MaxImportBatch) {
			p.done(c.Total)
			return c, nil
		}
		after = rows[len(rows)-1].key
	}
}

// fileLookups maps a page's resources to their Lattice ids and finds the
// files imported before, which are not opened again.
func (r *Run) fileLookups(ctx context.Context, rows []fileRow) (parents, done map[string]string, err error) {
	resources, files := make([]string, len(rows)), make([]string, len(rows))
	for i, row := range rows {
		resources[i], files[i] = row.resource, row.legacyID
	}
	if parents, err = r.resourceIDs(ctx, resources); err != nil {
		return nil, nil, err
	}
	done, err = r.Resources.ImportedIDs(ctx, resapp.LegacyFileKind, files)
	return parents, done, err
}

// importFile opens one file and hands it to the resource service.
func (r *Run) importFile(ctx context.Context, dir *os.Root, row fileRow, resourceID string) (resapp.ImportOutcome, error) {
	skipped := func(reason string) (resapp.ImportOutcome, error) {
		return resapp.ImportOutcome{Result: resapp.Skipped, Reason: reason}, nil
	}
	if resourceID == "" {
		return skipped(resapp.ReasonResourceNotImported)
	}
	if resourceID == wouldBeID {
		resourceID = "00000000-0000-7000-8000-000000000000" // a dry run's stand-in: the service does not look it up
	}
	if !filepath.IsLocal(row.path) {
		return skipped(ReasonPathOutside)
	}
	f, err := dir.Open(row.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return skipped(resapp.ReasonMissingFile)
	case err != nil && strings.Contains(err.Error(), "escapes"): // os.Root's error for a link out has no exported value
		return skipped(ReasonPathOutside)
	case err != nil:
		return skipped(ReasonUnreadable)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return skipped(ReasonUnreadable)
	}
	head := make([]byte, 512) // what net/http's sniffing reads, as the upload edge does
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return skipped(ReasonUnreadable)
	}
	head = head[:n]
	return r.Resources.ImportFile(ctx, resapp.ImportedFile{LegacyID: row.legacyID, ResourceID: resourceID, SHA256: row.hash, Size: info.Size(),
		Upload: resapp.Upload{Name: row.name, Sniffed: http.DetectContentType(head), Body: io.MultiReader(bytes.NewReader(head), f)}}, r.DryRun)
}
