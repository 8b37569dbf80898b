package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/lattice-platform/lattice/cmd/lattice/legacyimport"
	"github.com/lattice-platform/lattice/pkg/platform/config"
)

// cmdImport copies another system's rows into Lattice (legacyimport). The
// source database's URL comes from IMPORT_SOURCE_URL (or _FILE), never
// from the arguments, since it may hold a password.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mappingFile := fs.String("mapping", "", "the mapping file (YAML): source tables and columns for each kind")
	dryRun := fs.Bool("dry-run", false, "check every row and report what would change; write nothing")
	every := fs.Duration("progress-every", 2*time.Second, "the most often a progress line is written")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *mappingFile == "" || fs.NArg() > 0 {
		return errors.New("usage: lattice import --mapping FILE [--dry-run]   (the source from IMPORT_SOURCE_URL or IMPORT_SOURCE_URL_FILE)")
	}
	mapping, err := legacyimport.LoadMapping(*mappingFile)
	if err != nil {
		return err
	}
	env := &config.Env{Lookup: lookup}
	sourceURL := env.Secret("IMPORT_SOURCE_URL", "")
	if err := env.Err(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if sourceURL == "" {
		return errors.New("set IMPORT_SOURCE_URL (or IMPORT_SOURCE_URL_FILE) to the source database")
	}
	src, err := legacyimport.OpenSource(ctx, sourceURL)
	if err != nil {
		return err
	}
	defer func() { _ = src.Close(context.WithoutCancel(ctx)) }()
	auth, err := openAuth(ctx, stderr, lookup)
	if err != nil {
		return err
	}
	defer auth.Close()
	counts, err := legacyimport.ImportUsers(ctx, src, *mapping.Users, auth.App, legacyimport.Options{DryRun: *dryRun, Progress: stderr, Every: *every, Bar: isTerminal(stderr)})
	counts.Write(stdout, *dryRun)
	return err
}

// isTerminal reports whether w is a terminal, where a progress bar can
// redraw itself; a log or a pipe gets lines instead.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
