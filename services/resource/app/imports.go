package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// The kinds of imported rows in the Importer's legacy id table.
const (
	LegacyResourceKind = "resource"
	LegacyFileKind     = "file"
)

// ImportResult says what importing a row did.
type ImportResult string

// The results of an import.
const (
	Imported  ImportResult = "created"
	Unchanged ImportResult = "unchanged" // imported before
	Skipped   ImportResult = "skipped"   // a bad row; the outcome's Reason says why
)

// ImportOutcome is a row's result; ID is what it became (for Imported, ""
// on a dry run).
type ImportOutcome struct {
	Result ImportResult
	ID     string
	Reason string
}

// Reasons a row is skipped. A field the resource's rules refuse is
// reported as "invalid <field>".
const (
	ReasonOwnerNotImported    = "owner not imported"
	ReasonResourceNotImported = "resource not imported"
	ReasonMissingFile         = "missing file"
	ReasonOversizeFile        = "oversize file"
	ReasonChecksumMismatch    = "checksum mismatch"
	ReasonFileName            = "invalid file name"
	ReasonFileType            = "unsupported file type"
)

// MaxImportBatch bounds the rows of one ImportResources call, and so one
// transaction.
const MaxImportBatch = 1000

// importActor is who an import's audit records name.
const importActor = "operator"

// ImportedResource is a resource of another system, as lattice import
// reads it; its owner is already mapped to a Lattice user.
type ImportedResource struct {
	LegacyID  string    // the row's key in the other system
	OwnerID   string    // the owner's Lattice user id; "": not imported
	Input               // "" content type: text/plain; "" visibility: private
	CreatedAt time.Time // zero: now
	UpdatedAt time.Time // zero: CreatedAt
}

// ImportResources makes each row a resource unless its legacy id was
// imported before. A row the resource rules refuse is skipped with a
// reason, never half-made. The new resources, their legacy ids and their
// resource.created and audit events are written in one transaction, so
// search and processing see them as they see any write, and a killed
// import leaves a batch either whole or absent. With dryRun, nothing is
// written. The outcomes are in the order of rows.
func (s *Service) ImportResources(ctx context.Context, rows []ImportedResource, dryRun bool) ([]ImportOutcome, error) {
	if s.deps.Imports == nil {
		return nil, errors.New("resource: this service was built without an import store")
	}
	if len(rows) > MaxImportBatch {
		return nil, fault.InvalidField("rows", fmt.Sprintf("import at most %d rows at a time", MaxImportBatch))
	}
	legacyIDs := make([]string, len(rows))
	for i, in := range rows {
		legacyIDs[i] = in.LegacyID
	}
	before, err := s.deps.Imports.Imported(ctx, LegacyResourceKind, legacyIDs)
	if err != nil {
		return nil, err
	}
	now := s.deps.Clock.Now()
	out := make([]ImportOutcome, len(rows))
	var batch []LegacyResource
	var evs []ports.Event
	for i, in := range rows {
		if id, ok := before[in.LegacyID]; ok {
			out[i] = ImportOutcome{Result: Unchanged, ID: id}
			continue
		}
		r, reason := in.resource(now)
		if reason != "" {
			out[i] = ImportOutcome{Result: Skipped, Reason: reason}
			continue
		}
		before[in.LegacyID] = r.ID // a repeated row in one call is made once
		out[i] = ImportOutcome{Result: Imported, ID: r.ID}
		if dryRun {
			out[i].ID = ""
			continue
		}
		ev, err := events.New(Source, schema.CloudEventTypeResourceCreated, r.ID, r.CreatedAt, stateOf(r))
		if err != nil {
			return nil, err
		}
		if evs, err = withAudit(append(evs, ev), domain.Caller{Subject: importActor}, "resource.import", "resource/"+r.ID, r.OwnerID, now,
			map[string]any{"legacy_id": in.LegacyID, "owner": r.OwnerID}); err != nil {
			return nil, err
		}
		batch = append(batch, LegacyResource{LegacyID: in.LegacyID, Resource: r})
	}
	if len(batch) == 0 {
		return out, nil
	}
	if err := s.commit(ctx, func(ctx context.Context) ([]ports.Event, error) {
		return evs, s.deps.Imports.ImportResources(ctx, batch, now)
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// resource is the row as a valid version-1 resource, or the reason it
// cannot be one.
func (in ImportedResource) resource(now time.Time) (domain.Resource, string) {
	if in.OwnerID == "" {
		return domain.Resource{}, ReasonOwnerNotImported
	}
	r := in.withDefaults().applyTo(domain.Resource{ID: uuid.Must(uuid.NewV7()).String(), OwnerID: in.OwnerID,
		Version: 1, CreatedAt: in.CreatedAt.UTC(), UpdatedAt: in.UpdatedAt.UTC()})
	if in.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if in.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	if err := r.Validate(); err != nil {
		return domain.Resource{}, invalidReason(err)
	}
	return r, ""
}

// invalidReason names the field a validation error is about: "invalid
// title", "invalid metadata", so a report groups rows by what is wrong.
func invalidReason(err error) string {
	var f *fault.Error
	if errors.As(err, &f) && len(f.Fields) == 1 {
		for name := range f.Fields {
			return "invalid " + name
		}
	}
	return "invalid resource"
}

// ImportedFile is a file of another system, opened by lattice import, for
// a resource already imported.
type ImportedFile struct {
	LegacyID   string
	ResourceID string // the Lattice resource it belongs to
	SHA256     string // the source's checksum, hex; the copy must match it
	Size       int64  // the source file's size, so an oversize file is skipped unread
	Upload            // name, sniffed type and content, as for an upload
}

// ImportFile copies a file into the blob store, checking its SHA-256
// against the source's, and records it with its legacy id and its
// file.uploaded and audit events in one transaction, unless it was
// imported before. Its blob key is derived from the legacy id, so a run
// killed between the copy and the record overwrites the same blob when it
// runs again instead of leaving one behind. A bad file is skipped with a
// reason. With dryRun, the content is read and checked but nothing is
// written.
func (s *Service) ImportFile(ctx context.Context, in ImportedFile, dryRun bool) (ImportOutcome, error) {
	if s.deps.Imports == nil {
		return ImportOutcome{}, errors.New("resource: this service was built without an import store")
	}
	before, err := s.deps.Imports.Imported(ctx, LegacyFileKind, []string{in.LegacyID})
	if err != nil {
		return ImportOutcome{}, err
	}
	if id, ok := before[in.LegacyID]; ok {
		return ImportOutcome{Result: Unchanged, ID: id}, nil
	}
	skip := func(reason string) (ImportOutcome, error) { return ImportOutcome{Result: Skipped, Reason: reason}, nil }
	if in.ResourceID == "" {
		return skip(ReasonResourceNotImported)
	}
	if in.Size > s.deps.MaxFileSize {
		return skip(ReasonOversizeFile)
	}
	name, err := domain.SanitizeFileName(in.Name)
	if err != nil {
		return skip(ReasonFileName)
	}
	ctype, err := domain.FileType(in.Sniffed, name)
	if err != nil {
		return skip(ReasonFileType)
	}
	want := strings.ToLower(in.SHA256)
	body := &cappedReader{r: in.Body, left: s.deps.MaxFileSize}
	hash := sha256.New()
	if dryRun {
		if _, err := io.Copy(hash, body); errors.Is(err, errTooLarge) {
			return skip(ReasonOversizeFile)
		} else if err != nil {
			return ImportOutcome{}, fmt.Errorf("read legacy file %s: %w", in.LegacyID, err)
		}
		if hex.EncodeToString(hash.Sum(nil)) != want {
			return skip(ReasonChecksumMismatch)
		}
		return ImportOutcome{Result: Imported}, nil
	}
	id := uuid.Must(uuid.NewV7()).String()
	legacyKey := sha256.Sum256([]byte(in.LegacyID))
	key := "resources/" + in.ResourceID + "/imported/" + hex.EncodeToString(legacyKey[:16])
	size, err := s.deps.Blobs.Put(ctx, key, io.TeeReader(body, hash), ctype)
	drop := func() { _ = s.deps.Blobs.Delete(context.WithoutCancel(ctx), key) }
	switch {
	case errors.Is(err, errTooLarge):
		drop()
		return skip(ReasonOversizeFile)
	case err != nil:
		drop()
		return ImportOutcome{}, fault.Wrap(fault.Unavailable, "the file could not be stored", err)
	case hex.EncodeToString(hash.Sum(nil)) != want:
		drop()
		return skip(ReasonChecksumMismatch)
	}
	now := s.deps.Clock.Now()
	f := domain.File{ID: id, ResourceID: in.ResourceID, Name: name, ContentType: ctype, Size: size,
		SHA256: want, BlobKey: key, CreatedAt: now, Status: domain.FileStored}
	err = s.commit(ctx, func(ctx context.Context) (evs []ports.Event, err error) {
		err = s.deps.Files.AddFile(ctx, f, func(parent domain.Resource) error {
			ev, err := events.New(Source, schema.CloudEventTypeFileUploaded, f.ID, f.CreatedAt, schema.FileUploaded{
				Id: f.ID, ResourceId: f.ResourceID, OwnerId: parent.OwnerID, Name: f.Name, ContentType: f.ContentType,
				Size: f.Size, Sha256: f.SHA256, CreatedAt: f.CreatedAt,
			})
			if err != nil {
				return err
			}
			evs, err = withAudit([]ports.Event{ev}, domain.Caller{Subject: importActor}, "file.import", "resource/"+f.ResourceID+"/files/"+f.ID,
				parent.OwnerID, now, map[string]any{"legacy_id": in.LegacyID, "name": f.Name, "size": f.Size, "sha256": f.SHA256})
			return err
		})
		if err != nil {
			return nil, err
		}
		return evs, s.deps.Imports.RecordImport(ctx, LegacyFileKind, in.LegacyID, f.ID, now)
	})
	switch {
	case errors.Is(err, domain.ErrNotFound):
		drop()
		return skip(ReasonResourceNotImported)
	case err != nil:
		// The blob stays: the commit may have succeeded unseen, and if it
		// did not, the next run writes the same key again.
		return ImportOutcome{}, err
	}
	return ImportOutcome{Result: Imported, ID: f.ID}, nil
}

// ImportedIDs returns those of legacyIDs (rows of kind) imported before,
// each with the id it became: lattice import maps files to their
// resources with it.
func (s *Service) ImportedIDs(ctx context.Context, kind string, legacyIDs []string) (map[string]string, error) {
	if s.deps.Imports == nil {
		return nil, errors.New("resource: this service was built without an import store")
	}
	if len(legacyIDs) > MaxImportBatch {
		return nil, fault.InvalidField("legacy_ids", fmt.Sprintf("look up at most %d at a time", MaxImportBatch))
	}
	return s.deps.Imports.Imported(ctx, kind, legacyIDs)
}
