package app_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lattice-platform/lattice/pkg/ports/portstest"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/fsblob"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/app/fake"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

type fixture struct {
	svc   *app.Service
	store *fake.ResourceStore
	blobs ports.BlobStore
	clk   *clock
	woken int
}

func setup(t *testing.T) *fixture {
	t.Helper()
	blobs, err := fsblob.New(t.TempDir())
	require.NoError(t, err)
	f := &fixture{store: fake.NewResourceStore(), blobs: blobs, clk: &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}}
	f.svc = app.New(app.Deps{Resources: f.store, Files: f.store, Purger: f.store, Idem: f.store, Imports: f.store, Blobs: f.blobs, Clock: f.clk,
		Tx: portstest.Transactor{}, Outbox: f.store,
		MaxFileSize: 1024, EventsWritten: func() { f.woken++ }})
	return f
}

var (
	owner = domain.Caller{Subject: "01a20000-0000-7000-8000-000000000001", Scopes: []string{domain.ScopeRead, domain.ScopeWrite}}
	other = domain.Caller{Subject: "01a20000-0000-7000-8000-000000000002", Scopes: []string{domain.ScopeRead, domain.ScopeWrite}}
)

func input(title string) app.Input {
	return app.Input{Title: title, Body: "b", ContentType: "text/plain", Visibility: domain.Private, Metadata: map[string]string{}}
}

// eventTypes lists the domain events in the outbox, in order.
func (f *fixture) eventTypes(t *testing.T) []string {
	types, _ := f.outbox(t)
	return types
}

// auditActions lists the audit events' actions in the outbox, in order.
func (f *fixture) auditActions(t *testing.T) []string {
	_, actions := f.outbox(t)
	return actions
}

func (f *fixture) outbox(t *testing.T) (types, actions []string) {
	t.Helper()
	pending, err := f.store.Pending(context.Background(), 100)
	require.NoError(t, err)
	for _, e := range pending {
		var env struct {
			Type string
			Data struct{ Actor, Action, Target string }
		}
		require.NoError(t, json.Unmarshal(e.Payload, &env))
		if env.Type == "audit.recorded" {
			require.Equal(t, app.AuditSubject, e.Subject)
			require.NotEmpty(t, env.Data.Actor)
			require.NotEmpty(t, env.Data.Target)
			actions = append(actions, env.Data.Action)
			continue
		}
		types = append(types, env.Type)
	}
	return types, actions
}

func TestCreateUpdateDeleteEmitEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	c, err := f.svc.Create(ctx, owner, input("One"), "")
	require.NoError(t, err)
	require.EqualValues(t, 1, c.Resource.Version)

	_, err = f.svc.Update(ctx, owner, c.Resource.ID, app.Precondition{}, domain.Patch{})
	require.ErrorIs(t, err, domain.ErrIfMatchRequired)
	_, err = f.svc.Update(ctx, owner, c.Resource.ID, app.Precondition{Present: true, Version: 7}, domain.Patch{})
	require.ErrorIs(t, err, domain.ErrVersionMismatch)

	title := "Two"
	f.clk.Add(time.Second)
	r, err := f.svc.Update(ctx, owner, c.Resource.ID, app.Precondition{Present: true, Version: 1}, domain.Patch{Title: &title})
	require.NoError(t, err)
	require.EqualValues(t, 2, r.Version)
	require.Equal(t, f.clk.Now(), r.UpdatedAt)

	require.NoError(t, f.svc.Delete(ctx, owner, c.Resource.ID, app.Precondition{Present: true, Any: true}))
	_, err = f.svc.Get(ctx, owner, c.Resource.ID)
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.Equal(t, []string{"resource.created", "resource.updated", "resource.deleted"}, f.eventTypes(t))
	require.Equal(t, []string{"resource.create", "resource.update", "resource.delete"}, f.auditActions(t),
		"every change is audited in the same transaction")
	require.Equal(t, 3, f.woken, "the relay is woken after each committed change")
}

func TestIdempotencyKeyReplaysAndRejectsOtherBodies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	first, err := f.svc.Create(ctx, owner, input("Once"), "key-1")
	require.NoError(t, err)
	require.False(t, first.Replayed)
	again, err := f.svc.Create(ctx, owner, input("Once"), "key-1")
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, first.Resource, again.Resource)

	_, err = f.svc.Create(ctx, owner, input("Changed"), "key-1")
	require.ErrorIs(t, err, domain.ErrIdempotencyKeyMismatch)
	other, err := f.svc.Create(ctx, other, input("Once"), "key-1")
	require.NoError(t, err)
	require.False(t, other.Replayed, "keys are per caller")

	f.clk.Add(domain.IdempotencyTTL)
	later, err := f.svc.Create(ctx, owner, input("Once"), "key-1")
	require.NoError(t, err)
	require.False(t, later.Replayed, "keys expire after 24 hours")
	require.NotEqual(t, first.Resource.ID, later.Resource.ID)
}

func TestParseIfMatch(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]app.Precondition{
		"":         {},
		"*":        {Present: true, Any: true},
		`"3"`:      {Present: true, Version: 3},
		` "12" `:   {Present: true, Version: 12},
		`"4", "5"`: {Present: true, Version: 4},
	} {
		got, err := app.ParseIfMatch(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{`W/"3"`, "3", `"x"`, `"`} {
		_, err := app.ParseIfMatch(in)
		require.True(t, fault.Of(err, fault.Invalid), in)
	}
	require.Equal(t, `"9"`, app.ETag(9))
}

func TestFilesLifecycleAndPurge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	c, err := f.svc.Create(ctx, owner, input("Files"), "")
	require.NoError(t, err)
	rid := c.Resource.ID

	file, err := f.svc.AddFile(ctx, owner, rid, app.Upload{Name: "a.md", Sniffed: "text/plain; charset=utf-8", Body: strings.NewReader("hello")})
	require.NoError(t, err)
	require.Equal(t, "text/markdown", file.ContentType)
	require.Equal(t, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", file.SHA256)
	rc, err := f.svc.OpenFile(ctx, file, 1, 3)
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	require.Equal(t, "ell", string(b))

	_, err = f.svc.AddFile(ctx, owner, rid, app.Upload{Name: "big.txt", Sniffed: "text/plain", Body: strings.NewReader(strings.Repeat("x", 1025))})
	require.True(t, fault.Of(err, fault.TooLarge), "got %v", err)
	_, err = f.svc.AddFile(ctx, other, rid, app.Upload{Name: "x.txt", Sniffed: "text/plain", Body: strings.NewReader("x")})
	require.ErrorIs(t, err, domain.ErrNotFound, "a private resource of someone else is not found")
	files, err := f.svc.Files(ctx, owner, rid)
	require.NoError(t, err)
	require.Len(t, files, 1, "rejected uploads leave nothing behind")

	require.NoError(t, f.svc.DeleteFile(ctx, owner, rid, file.ID))
	purgedFiles, _, err := f.svc.Purge(ctx, time.Hour)
	require.NoError(t, err)
	require.Zero(t, purgedFiles, "the grace period protects the bytes")
	_, err = f.blobs.Open(ctx, file.BlobKey, 0, -1)
	require.NoError(t, err)

	require.NoError(t, f.svc.Delete(ctx, owner, rid, app.Precondition{Present: true, Any: true}))
	f.clk.Add(2 * time.Hour)
	purgedFiles, purgedResources, err := f.svc.Purge(ctx, time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, purgedFiles)
	require.Equal(t, 1, purgedResources)
	_, err = f.blobs.Open(ctx, file.BlobKey, 0, -1)
	require.Error(t, err, "the blob is gone")
	require.Equal(t, []string{"resource.created", "file.uploaded", "file.deleted", "resource.deleted"}, f.eventTypes(t))
	require.Equal(t, []string{"resource.create", "file.upload", "file.delete", "resource.delete"}, f.auditActions(t))
}
