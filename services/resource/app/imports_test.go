package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

func legacyResource(id, title string) app.ImportedResource {
	return app.ImportedResource{LegacyID: id, OwnerID: owner.Subject, CreatedAt: time.Date(2019, 3, 1, 9, 0, 0, 0, time.UTC),
		Input: app.Input{Title: title, Body: "from the monolith", Metadata: map[string]string{"source": "monolith"},
			Tags: []string{"Old", "notes"}, Visibility: domain.Internal}}
}

func TestImportResourcesMakesEachRowOnceAndSkipsBadOnes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	noOwner := legacyResource("3", "Orphan")
	noOwner.OwnerID = ""
	rows := []app.ImportedResource{legacyResource("1", "First"), legacyResource("2", strings.Repeat("t", 301)), noOwner, legacyResource("4", "Fourth")}
	rows[3].Metadata = map[string]string{"bad key!": "x"}

	dry, err := f.svc.ImportResources(ctx, rows, true)
	require.NoError(t, err)
	require.Equal(t, []app.ImportOutcome{{Result: app.Imported}, {Result: app.Skipped, Reason: "invalid title"},
		{Result: app.Skipped, Reason: app.ReasonOwnerNotImported}, {Result: app.Skipped, Reason: "invalid metadata"}}, dry)
	require.Empty(t, f.eventTypes(t), "a dry run writes nothing")

	got, err := f.svc.ImportResources(ctx, rows, false)
	require.NoError(t, err)
	require.Equal(t, app.Imported, got[0].Result)
	require.Equal(t, dry[1:], got[1:], "the dry run said what the run did")
	r, err := f.svc.Get(ctx, owner, got[0].ID)
	require.NoError(t, err)
	require.Equal(t, "First", r.Title)
	require.Equal(t, []string{"notes", "old"}, r.Tags, "tags are normalised as for any write")
	require.Equal(t, "text/plain", r.ContentType)
	require.Equal(t, rows[0].CreatedAt, r.CreatedAt, "the legacy creation time is kept")
	require.Equal(t, r.CreatedAt, r.UpdatedAt)
	types, actions := f.outbox(t)
	require.Equal(t, []string{"resource.created"}, types, "search and processing learn of it as of any write")
	require.Equal(t, []string{"resource.import"}, actions)

	again, err := f.svc.ImportResources(ctx, rows[:1], false)
	require.NoError(t, err)
	require.Equal(t, []app.ImportOutcome{{Result: app.Unchanged, ID: got[0].ID}}, again)
	require.Len(t, f.eventTypes(t), 1, "a re-run writes nothing")

	_, err = f.svc.ImportResources(ctx, make([]app.ImportedResource, app.MaxImportBatch+1), false)
	require.Error(t, err, "a batch over the limit is refused")
}

func TestImportFileChecksItsContent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	imported, err := f.svc.ImportResources(ctx, []app.ImportedResource{legacyResource("r1", "With files")}, false)
	require.NoError(t, err)
	rid := imported[0].ID
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	file := func(legacyID, name, content, checksum string) app.ImportedFile {
		return app.ImportedFile{LegacyID: legacyID, ResourceID: rid, SHA256: checksum, Size: int64(len(content)),
			Upload: app.Upload{Name: name, Sniffed: "text/plain; charset=utf-8", Body: strings.NewReader(content)}}
	}

	good := file("f1", "notes.md", "# notes\n", sum("# notes\n"))
	out, err := f.svc.ImportFile(ctx, good, true)
	require.NoError(t, err)
	require.Equal(t, app.ImportOutcome{Result: app.Imported}, out)

	good = file("f1", "notes.md", "# notes\n", strings.ToUpper(sum("# notes\n")))
	out, err = f.svc.ImportFile(ctx, good, false)
	require.NoError(t, err)
	require.Equal(t, app.Imported, out.Result)
	stored, err := f.svc.File(ctx, owner, rid, out.ID)
	require.NoError(t, err)
	require.Equal(t, "text/markdown", stored.ContentType)
	require.Equal(t, sum("# notes\n"), stored.SHA256)
	rc, err := f.svc.OpenFile(ctx, stored, 0, -1)
	require.NoError(t, err)
	defer rc.Close()

	again, err := f.svc.ImportFile(ctx, file("f1", "notes.md", "# notes\n", sum("# notes\n")), false)
	require.NoError(t, err)
	require.Equal(t, app.ImportOutcome{Result: app.Unchanged, ID: out.ID}, again)

	for _, c := range []struct {
		in     app.ImportedFile
		reason string
	}{
		{file("f2", "x.txt", "changed since", sum("what it was")), app.ReasonChecksumMismatch},
		{file("f3", "big.txt", strings.Repeat("x", 1025), ""), app.ReasonOversizeFile},
		{app.ImportedFile{LegacyID: "f4", ResourceID: rid, SHA256: sum(strings.Repeat("x", 1025)), Size: 10, // the source's size lies
			Upload: app.Upload{Name: "big.txt", Sniffed: "text/plain", Body: strings.NewReader(strings.Repeat("x", 1025))}}, app.ReasonOversizeFile},
		{file("f5", "\x00", "x", sum("x")), app.ReasonFileName},
		{file("f6", "a.exe", "MZ", sum("MZ")), app.ReasonFileType},
		{app.ImportedFile{LegacyID: "f7", Upload: app.Upload{Name: "a.txt", Body: strings.NewReader("")}}, app.ReasonResourceNotImported},
		{func() app.ImportedFile {
			g := file("f8", "a.txt", "x", sum("x"))
			g.ResourceID = "01a20000-0000-7000-8000-0000000000ff"
			return g
		}(), app.ReasonResourceNotImported},
	} {
		c.in.Sniffed = map[bool]string{true: "application/octet-stream", false: c.in.Sniffed}[c.reason == app.ReasonFileType]
		for _, dry := range []bool{true, false} {
			if dry && c.in.LegacyID == "f8" {
				continue // a dry run does not look the resource up
			}
			body := c.in.Body.(*strings.Reader)
			_, _ = body.Seek(0, 0)
			out, err := f.svc.ImportFile(ctx, c.in, dry)
			require.NoError(t, err, c.in.LegacyID)
			require.Equal(t, app.ImportOutcome{Result: app.Skipped, Reason: c.reason}, out, "%s (dry run %v)", c.in.LegacyID, dry)
		}
	}
	files, err := f.svc.Files(ctx, owner, rid)
	require.NoError(t, err)
	require.Len(t, files, 1, "skipped files leave nothing behind")
	types, actions := f.outbox(t)
	require.Equal(t, []string{"resource.created", "file.uploaded"}, types)
	require.Equal(t, []string{"resource.import", "file.import"}, actions)
}

// TestTheChangeFeedAppliesEachChangeOnce: a legacy id seen first makes a
// resource for its imported owner; a newer change replaces it, a repeat or
// an older one changes nothing; deletes are idempotent; only admins feed.
func TestTheChangeFeedAppliesEachChangeOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	admin := domain.Caller{Subject: "01a20000-0000-7000-8000-0000000000ad", Scopes: []string{domain.ScopeRead, domain.ScopeWrite, domain.ScopeAdmin}}
	require.NoError(t, f.svc.RecordLegacyUser(ctx, "7", owner.Subject))
	require.NoError(t, f.svc.RecordLegacyUser(ctx, "7", owner.Subject), "recording again is harmless")
	t0 := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	change := app.LegacyChange{LegacyID: "42", OwnerLegacyID: "7", UpdatedAt: t0, Input: app.Input{Title: "Notes", Body: "first", Visibility: domain.Internal}}

	r, result, err := f.svc.SyncLegacy(ctx, admin, change)
	require.NoError(t, err)
	require.Equal(t, app.SyncCreated, result)
	require.Equal(t, owner.Subject, r.OwnerID)
	require.Equal(t, t0, r.UpdatedAt)
	_, result, err = f.svc.SyncLegacy(ctx, admin, change)
	require.NoError(t, err)
	require.Equal(t, app.SyncUnchanged, result, "a repeat")

	newer := change
	newer.Body, newer.UpdatedAt = "second", t0.Add(time.Minute)
	r2, result, err := f.svc.SyncLegacy(ctx, admin, newer)
	require.NoError(t, err)
	require.Equal(t, app.SyncUpdated, result)
	require.Equal(t, r.ID, r2.ID)
	require.Equal(t, int64(2), r2.Version)
	require.Equal(t, newer.UpdatedAt, r2.UpdatedAt, "the copy keeps the other system's time")
	got, result, err := f.svc.SyncLegacy(ctx, admin, change)
	require.NoError(t, err)
	require.Equal(t, app.SyncUnchanged, result, "an older change never undoes a newer")
	require.Equal(t, "second", got.Body)
	types, _ := f.outbox(t)
	require.Equal(t, []string{"resource.created", "resource.updated"}, types)

	unknown := change
	unknown.LegacyID, unknown.OwnerLegacyID = "43", "8"
	_, _, err = f.svc.SyncLegacy(ctx, admin, unknown)
	require.True(t, fault.Of(err, fault.Invalid), "an owner never imported: %v", err)
	_, _, err = f.svc.SyncLegacy(ctx, owner, newer)
	require.True(t, fault.Of(err, fault.Forbidden))
	_, _, err = f.svc.SyncLegacy(ctx, domain.Caller{}, newer)
	require.True(t, fault.Of(err, fault.Unauthenticated))
	longID := change
	longID.LegacyID = strings.Repeat("9", app.MaxLegacyID+1)
	_, _, err = f.svc.SyncLegacy(ctx, admin, longID)
	require.True(t, fault.Of(err, fault.Invalid), "a legacy id over the limit")
	require.True(t, fault.Of(f.svc.SyncLegacyDelete(ctx, admin, longID.LegacyID), fault.Invalid))
	_, err = f.svc.ImportedIDs(ctx, app.LegacyResourceKind, make([]string, app.MaxImportBatch+1))
	require.True(t, fault.Of(err, fault.Invalid), "a lookup over the batch limit")
	noTime := change
	noTime.UpdatedAt = time.Time{}
	_, _, err = f.svc.SyncLegacy(ctx, admin, noTime)
	require.True(t, fault.Of(err, fault.Invalid))

	require.NoError(t, f.svc.SyncLegacyDelete(ctx, admin, "42"))
	_, err = f.svc.Get(ctx, admin, r.ID)
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.NoError(t, f.svc.SyncLegacyDelete(ctx, admin, "42"), "again")
	require.NoError(t, f.svc.SyncLegacyDelete(ctx, admin, "never-seen"))
	require.True(t, fault.Of(f.svc.SyncLegacyDelete(ctx, owner, "42"), fault.Forbidden))
}
