package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/lattice-platform/lattice/cmd/lattice/legacyimport"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/target"
	resapp "github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
)

// cmdImport copies another system's rows into Lattice (legacyimport). The
// source database's URL comes from IMPORT_SOURCE_URL (or _FILE), never
// from the arguments, since it may hold a password. The stores and the
// blob store are the platform's own settings, as for `lattice serve`;
// events go to the services' outboxes, which their running relays
// publish.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mappingFile := fs.String("mapping", "", "the mapping file (YAML): source tables and columns for each kind")
	dryRun := fs.Bool("dry-run", false, "check every row and report what would change; write nothing")
	filesDir := fs.String("files-dir", "", "the directory the files' paths are relative to (overrides the mapping's root)")
	every := fs.Duration("progress-every", 2*time.Second, "the most often a progress line is written")
	workers := fs.Int("workers", 4, "resource batches and files written at once")
	batch := fs.Int("batch", 500, "resources written per transaction (at most 1000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *mappingFile == "" || fs.NArg() > 0 || *workers < 1 || *workers > 64 || *batch < 1 || *batch > resapp.MaxImportBatch {
		return errors.New("usage: lattice import --mapping FILE [--dry-run] [--files-dir DIR] [--workers 1-64] [--batch 1-1000]   (the source from IMPORT_SOURCE_URL or IMPORT_SOURCE_URL_FILE)")
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
	run := &legacyimport.Run{Source: src, Options: legacyimport.Options{DryRun: *dryRun, Progress: stderr, Every: *every,
		Bar: isTerminal(stderr), Workers: *workers, Batch: *batch}}
	auth, err := openAuth(ctx, stderr, lookup)
	if err != nil {
		return err
	}
	defer auth.Close()
	run.Users = auth.App
	if mapping.Resources != nil || mapping.Files != nil {
		res, closeRes, err := openResource(ctx, stderr, lookup)
		if err != nil {
			return err
		}
		defer closeRes()
		run.Resources = res.App
	}
	kinds := []struct {
		mapped bool
		run    func() (legacyimport.Counts, error)
	}{
		{mapping.Users != nil, func() (legacyimport.Counts, error) { return run.ImportUsers(ctx, *mapping.Users) }},
		{mapping.Resources != nil, func() (legacyimport.Counts, error) { return run.ImportResources(ctx, *mapping.Resources) }},
		{mapping.Files != nil, func() (legacyimport.Counts, error) {
			return run.ImportFiles(ctx, *mapping.Files, cmp.Or(*filesDir, mapping.Files.Root))
		}},
	}
	for _, k := range kinds {
		if !k.mapped {
			continue
		}
		counts, err := k.run()
		counts.Write(stdout, *dryRun)
		if err != nil {
			return err
		}
	}
	return nil
}

// openResource builds the resource service for an operator command, on
// the platform's blob store, without a publisher: its events wait in the
// outbox for the running service's relay.
func openResource(ctx context.Context, stderr io.Writer, lookup func(string) (string, bool)) (*resourcesvc.Service, func(), error) {
	env := &config.Env{Lookup: lookup}
	settings := target.ReadSettings(env, registry)
	cfg := resourcesvc.LoadConfig(env)
	if err := env.Err(); err != nil {
		return nil, nil, fmt.Errorf("configuration: %w", err)
	}
	log := observe.NewLogger(stderr, slog.LevelWarn, resourcesvc.Name)
	platform := target.NewPlatform(ctx, settings, nil, log)
	blobs, err := platform.Blobs()
	if err != nil {
		platform.Close()
		return nil, nil, err
	}
	cfg.Blobs = blobs
	svc, err := resourcesvc.New(ctx, cfg, log)
	if err != nil {
		platform.Close()
		return nil, nil, err
	}
	return svc, func() { svc.Close(); platform.Close() }, nil
}

// isTerminal reports whether w is a terminal, where a progress bar can
// redraw itself; a log or a pipe gets lines instead.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
