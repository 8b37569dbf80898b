package porttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// ResourceFixture is one store seen through the resource service's ports:
// its repositories, the unit of work they join (Tx) and the outbox the
// events go to (Events, drained by Outbox).
type ResourceFixture struct {
	Resources app.ResourceRepository
	Idem      app.IdempotencyStore
	Tx        ports.Transactor
	Events    ports.EventOutbox
	Outbox    ports.OutboxStore
}

// unitOfWork runs a repository write and adds the events it decides on to
// the outbox in one unit of work, as the use cases do (ADR 0017).
func unitOfWork(ctx context.Context, tx ports.Transactor, outbox ports.EventOutbox, write func(ctx context.Context) ([]ports.Event, error)) error {
	return tx.InTx(ctx, func(ctx context.Context) error {
		evs, err := write(ctx)
		if err != nil {
			return err
		}
		return outbox.Add(ctx, evs...)
	})
}

func (f ResourceFixture) create(ctx context.Context, r domain.Resource, evs []ports.Event, idem *domain.IdempotencyRecord) error {
	return unitOfWork(ctx, f.Tx, f.Events, func(ctx context.Context) ([]ports.Event, error) {
		return evs, f.Resources.Create(ctx, r, idem)
	})
}

func (f ResourceFixture) update(ctx context.Context, id string, change func(domain.Resource) (domain.Resource, []ports.Event, error)) (domain.Resource, error) {
	var next domain.Resource
	err := unitOfWork(ctx, f.Tx, f.Events, func(ctx context.Context) (evs []ports.Event, err error) {
		next, err = f.Resources.Update(ctx, id, func(cur domain.Resource) (domain.Resource, error) {
			n, e, err := change(cur)
			evs = e
			return n, err
		})
		return evs, err
	})
	return next, err
}

func (f ResourceFixture) delete(ctx context.Context, id string, at time.Time, check func(domain.Resource) ([]ports.Event, error)) error {
	return unitOfWork(ctx, f.Tx, f.Events, func(ctx context.Context) (evs []ports.Event, err error) {
		err = f.Resources.Delete(ctx, id, at, func(cur domain.Resource) error {
			evs, err = check(cur)
			return err
		})
		return evs, err
	})
}

const (
	ownerA = "01a20000-0000-7000-8000-00000000000a"
	ownerB = "01a20000-0000-7000-8000-00000000000b"
)

func resourceAt(owner string, vis domain.Visibility, ts time.Time) domain.Resource {
	return domain.Resource{ID: newID(), OwnerID: owner, Title: "Title", Body: "body text", ContentType: "text/plain",
		Metadata: map[string]string{"team": "core"}, Tags: []string{"alpha", "beta"}, Visibility: vis, Version: 1,
		CreatedAt: ts, UpdatedAt: ts}
}

func event(subject string) ports.Event {
	return ports.Event{ID: newID(), Subject: subject, Payload: []byte(`{"specversion":"1.0"}`)}
}

func pendingIDs(t *testing.T, o ports.OutboxStore) []string {
	t.Helper()
	entries, err := o.Pending(context.Background(), 1000)
	require.NoError(t, err)
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return ids
}

// ResourceStore checks a resource store's three ports together.
func ResourceStore(t *testing.T, newStore func(t *testing.T) ResourceFixture) {
	ctx := context.Background()

	t.Run("create, get, versions, events", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		r := resourceAt(ownerA, domain.Private, now())
		created := event("events.resource.created")
		require.NoError(t, f.create(ctx, r, []ports.Event{created}, nil))
		require.True(t, fault.Of(f.create(ctx, r, nil, nil), fault.Conflict))
		got, err := f.Resources.Get(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, r, got)
		_, err = f.Resources.Get(ctx, newID())
		require.ErrorIs(t, err, domain.ErrNotFound)
		require.Equal(t, []string{created.ID}, pendingIDs(t, f.Outbox))

		later := r.UpdatedAt.Add(time.Second)
		updated := event("events.resource.updated")
		next, err := f.update(ctx, r.ID, func(cur domain.Resource) (domain.Resource, []ports.Event, error) {
			require.Equal(t, r, cur)
			cur.Title, cur.Tags, cur.Metadata = "New title", []string{"gamma"}, map[string]string{"team": "search"}
			cur.Version, cur.UpdatedAt = 2, later
			return cur, []ports.Event{updated}, nil
		})
		require.NoError(t, err)
		got, err = f.Resources.Get(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, next, got)

		versions, err := f.Resources.Versions(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, []domain.VersionInfo{{Version: 2, CreatedAt: later}, {Version: 1, CreatedAt: r.UpdatedAt}}, versions)
		v1, err := f.Resources.Version(ctx, r.ID, 1)
		require.NoError(t, err)
		require.Equal(t, r, v1)
		_, err = f.Resources.Version(ctx, r.ID, 3)
		require.ErrorIs(t, err, domain.ErrVersionNotFound)
		require.Equal(t, []string{created.ID, updated.ID}, pendingIDs(t, f.Outbox))
	})

	t.Run("a failed change stores nothing", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		r := resourceAt(ownerA, domain.Public, now())
		require.NoError(t, f.create(ctx, r, nil, nil))
		boom := fault.New(fault.PreconditionFailed, "boom")
		_, err := f.update(ctx, r.ID, func(cur domain.Resource) (domain.Resource, []ports.Event, error) {
			return domain.Resource{}, []ports.Event{event("x")}, boom
		})
		require.ErrorIs(t, err, boom)
		got, err := f.Resources.Get(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, int64(1), got.Version)
		require.Empty(t, pendingIDs(t, f.Outbox))
	})

	t.Run("every tag and metadata pair finds its resource, and only its current ones", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		a := domain.Caller{Subject: ownerA, Scopes: []string{domain.ScopeRead}}
		found := func(q domain.ListQuery) []string {
			t.Helper()
			q.Caller, q.Limit = a, 10
			rs, err := f.Resources.List(ctx, q)
			require.NoError(t, err)
			out := []string{}
			for _, r := range rs {
				out = append(out, r.ID)
			}
			return out
		}
		// As many as the domain allows, so a store writing them in
		// batches writes a full one.
		r := resourceAt(ownerA, domain.Private, now())
		r.Tags, r.Metadata = make([]string, domain.MaxTags), make(map[string]string, domain.MaxMetadataKeys)
		for i := range r.Tags {
			r.Tags[i] = fmt.Sprintf("tag-%02d", i)
		}
		for i := range domain.MaxMetadataKeys {
			r.Metadata[fmt.Sprintf("key%02d", i)] = fmt.Sprintf("value %d", i)
		}
		other := resourceAt(ownerA, domain.Private, now())
		require.NoError(t, f.create(ctx, r, nil, nil))
		require.NoError(t, f.create(ctx, other, nil, nil))
		for _, tag := range r.Tags {
			require.Equal(t, []string{r.ID}, found(domain.ListQuery{Tag: tag}), tag)
		}
		for k, v := range r.Metadata {
			require.Equal(t, []string{r.ID}, found(domain.ListQuery{MetaKey: k, MetaValue: v}), k)
		}

		_, err := f.update(ctx, r.ID, func(cur domain.Resource) (domain.Resource, []ports.Event, error) {
			cur.Tags, cur.Metadata = []string{"tag-03", "tag-new"}, map[string]string{"key07": "changed", "fresh": "yes"}
			cur.Version, cur.UpdatedAt = 2, cur.UpdatedAt.Add(time.Second)
			return cur, nil, nil
		})
		require.NoError(t, err)
		require.Equal(t, []string{r.ID}, found(domain.ListQuery{Tag: "tag-03"}))
		require.Equal(t, []string{r.ID}, found(domain.ListQuery{Tag: "tag-new"}))
		require.Empty(t, found(domain.ListQuery{Tag: "tag-04"}), "a tag the update dropped")
		require.Equal(t, []string{r.ID}, found(domain.ListQuery{MetaKey: "key07", MetaValue: "changed"}))
		require.Equal(t, []string{r.ID}, found(domain.ListQuery{MetaKey: "fresh", MetaValue: "yes"}))
		require.Empty(t, found(domain.ListQuery{MetaKey: "key07", MetaValue: "value 7"}), "a value the update replaced")
		require.Empty(t, found(domain.ListQuery{MetaKey: "key08", MetaValue: "value 8"}), "a key the update dropped")
		require.Equal(t, []string{other.ID}, found(domain.ListQuery{Tag: "alpha"}), "the other resource's rows are its own")
	})

	t.Run("concurrent updates serialise", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		r := resourceAt(ownerA, domain.Public, now())
		require.NoError(t, f.create(ctx, r, nil, nil))
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.update(ctx, r.ID, func(cur domain.Resource) (domain.Resource, []ports.Event, error) {
					cur.Version++
					cur.UpdatedAt = cur.UpdatedAt.Add(time.Millisecond)
					return cur, nil, nil
				})
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		got, err := f.Resources.Get(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, int64(9), got.Version, "no update was lost")
		versions, err := f.Resources.Versions(ctx, r.ID)
		require.NoError(t, err)
		require.Len(t, versions, 9)
	})

	t.Run("delete hides the resource and records events", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		r := resourceAt(ownerA, domain.Public, now())
		require.NoError(t, f.create(ctx, r, nil, nil))
		deleted := event("events.resource.deleted")
		require.NoError(t, f.delete(ctx, r.ID, now(), func(cur domain.Resource) ([]ports.Event, error) {
			require.Equal(t, r.ID, cur.ID)
			return []ports.Event{deleted}, nil
		}))
		_, err := f.Resources.Get(ctx, r.ID)
		require.ErrorIs(t, err, domain.ErrNotFound)
		_, err = f.Resources.Versions(ctx, r.ID)
		require.ErrorIs(t, err, domain.ErrNotFound)
		require.ErrorIs(t, f.delete(ctx, r.ID, now(), func(domain.Resource) ([]ports.Event, error) { return nil, nil }), domain.ErrNotFound)
		require.Equal(t, []string{deleted.ID}, pendingIDs(t, f.Outbox))
		list, err := f.Resources.List(ctx, domain.ListQuery{Caller: domain.Caller{Scopes: []string{domain.ScopeAdmin}}, Limit: 10})
		require.NoError(t, err)
		require.Empty(t, list)
	})

	t.Run("list filters, visibility and keyset pages", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		base := now().Add(-time.Hour)
		var all []domain.Resource
		for i, spec := range []struct {
			owner string
			vis   domain.Visibility
			tags  []string
			team  string
		}{
			{ownerA, domain.Private, []string{"x"}, "core"},
			{ownerA, domain.Internal, []string{"x", "y"}, "search"},
			{ownerA, domain.Public, []string{"y"}, "core"},
			{ownerB, domain.Private, []string{"x"}, "core"},
			{ownerB, domain.Internal, []string{"y"}, "core"},
			{ownerB, domain.Public, []string{"x"}, "search"},
		} {
			r := resourceAt(spec.owner, spec.vis, base.Add(time.Duration(i)*time.Minute))
			r.Tags, r.Metadata = spec.tags, map[string]string{"team": spec.team}
			require.NoError(t, f.create(ctx, r, nil, nil))
			all = append(all, r)
		}
		a := domain.Caller{Subject: ownerA, Scopes: []string{domain.ScopeRead}}
		ids := func(q domain.ListQuery) []string {
			t.Helper()
			if q.Limit == 0 {
				q.Limit = 100
			}
			rs, err := f.Resources.List(ctx, q)
			require.NoError(t, err)
			out := make([]string, len(rs))
			for i, r := range rs {
				out[i] = r.ID
			}
			return out
		}
		idsOf := func(idx ...int) []string {
			out := make([]string, len(idx))
			for i, j := range idx {
				out[i] = all[j].ID
			}
			return out
		}
		require.Equal(t, idsOf(5, 4, 2, 1, 0), ids(domain.ListQuery{Caller: a}), "A sees own, internal and public; newest first")
		require.Equal(t, idsOf(5, 2), ids(domain.ListQuery{Caller: domain.Caller{}}), "anonymous sees public only")
		require.Equal(t, idsOf(5, 4, 3, 2, 1, 0), ids(domain.ListQuery{Caller: domain.Caller{Subject: "admin", Scopes: []string{domain.ScopeAdmin}}}))
		require.Equal(t, idsOf(5, 4), ids(domain.ListQuery{Caller: a, Owner: ownerB}))
		require.Equal(t, idsOf(5, 1, 0), ids(domain.ListQuery{Caller: a, Tag: "x"}))
		require.Equal(t, idsOf(4, 1), ids(domain.ListQuery{Caller: a, Visibility: domain.Internal}))
		require.Equal(t, idsOf(5, 1), ids(domain.ListQuery{Caller: a, MetaKey: "team", MetaValue: "search"}))
		require.Equal(t, idsOf(5, 4), ids(domain.ListQuery{Caller: a, UpdatedSince: base.Add(4 * time.Minute)}))

		// Page through two at a time; a resource created meanwhile (newer
		// than the cursor) neither shifts nor repeats the pages.
		var paged []string
		var after *domain.Position
		for page := 0; ; page++ {
			rs, err := f.Resources.List(ctx, domain.ListQuery{Caller: a, Limit: 2, After: after})
			require.NoError(t, err)
			for _, r := range rs {
				paged = append(paged, r.ID)
			}
			if len(rs) < 2 {
				break
			}
			last := rs[len(rs)-1]
			after = &domain.Position{Time: last.CreatedAt, ID: last.ID}
			if page == 0 {
				require.NoError(t, f.create(ctx, resourceAt(ownerA, domain.Public, now()), nil, nil))
			}
		}
		require.Equal(t, idsOf(5, 4, 2, 1, 0), paged)
	})

	t.Run("list orders by updated_at", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		first, second := resourceAt(ownerA, domain.Public, ts), resourceAt(ownerA, domain.Public, ts.Add(time.Second))
		require.NoError(t, f.create(ctx, first, nil, nil))
		require.NoError(t, f.create(ctx, second, nil, nil))
		_, err := f.update(ctx, first.ID, func(cur domain.Resource) (domain.Resource, []ports.Event, error) {
			cur.Version, cur.UpdatedAt = 2, ts.Add(time.Minute)
			return cur, nil, nil
		})
		require.NoError(t, err)
		rs, err := f.Resources.List(ctx, domain.ListQuery{Caller: domain.Caller{}, Sort: domain.SortUpdated, Limit: 10})
		require.NoError(t, err)
		require.Equal(t, []string{first.ID, second.ID}, []string{rs[0].ID, rs[1].ID})
	})

	t.Run("idempotency records are written with the create", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		first := resourceAt(ownerA, domain.Public, ts)
		rec := domain.IdempotencyRecord{Caller: ownerA, Key: "k1", RequestHash: make([]byte, 32), Status: 201,
			Response: []byte(`{"id":"x"}`), ResourceID: first.ID, CreatedAt: ts, ExpiresAt: ts.Add(24 * time.Hour)}
		_, ok, err := f.Idem.Lookup(ctx, ownerA, "k1", ts)
		require.NoError(t, err)
		require.False(t, ok)
		require.NoError(t, f.create(ctx, first, nil, &rec))
		got, ok, err := f.Idem.Lookup(ctx, ownerA, "k1", ts.Add(time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, rec, got)
		_, ok, err = f.Idem.Lookup(ctx, ownerB, "k1", ts)
		require.NoError(t, err)
		require.False(t, ok, "keys are per caller")

		dup := resourceAt(ownerA, domain.Public, ts)
		again := rec
		again.ResourceID = dup.ID
		require.ErrorIs(t, f.create(ctx, dup, []ports.Event{event("x")}, &again), domain.ErrIdempotencyKeyUsed)
		_, err = f.Resources.Get(ctx, dup.ID)
		require.ErrorIs(t, err, domain.ErrNotFound, "nothing was created")
		require.Empty(t, pendingIDs(t, f.Outbox))

		_, ok, err = f.Idem.Lookup(ctx, ownerA, "k1", ts.Add(24*time.Hour))
		require.NoError(t, err)
		require.False(t, ok, "expired")
		again.CreatedAt, again.ExpiresAt = ts.Add(25*time.Hour), ts.Add(49*time.Hour)
		require.NoError(t, f.create(ctx, dup, nil, &again), "an expired key may be reused")
	})

	t.Run("concurrent creates with one key store one resource", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		var wg sync.WaitGroup
		results := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := resourceAt(ownerA, domain.Public, ts)
				rec := domain.IdempotencyRecord{Caller: ownerA, Key: "race", RequestHash: make([]byte, 32), Status: 201,
					Response: []byte(`{}`), ResourceID: r.ID, CreatedAt: ts, ExpiresAt: ts.Add(time.Hour)}
				results <- f.create(ctx, r, []ports.Event{event("events.x")}, &rec)
			}()
		}
		wg.Wait()
		close(results)
		ok := 0
		for err := range results {
			if err == nil {
				ok++
			} else {
				require.True(t, errors.Is(err, domain.ErrIdempotencyKeyUsed) || fault.Of(err, fault.Unavailable), "got %v", err)
			}
		}
		require.Equal(t, 1, ok)
		require.Len(t, pendingIDs(t, f.Outbox), 1)
	})

	t.Run("outbox marks sent", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		for i := range 5 {
			r := resourceAt(ownerA, domain.Public, now())
			require.NoError(t, f.create(ctx, r, []ports.Event{event(fmt.Sprintf("events.n%d", i))}, nil))
		}
		pending, err := f.Outbox.Pending(ctx, 3)
		require.NoError(t, err)
		require.Len(t, pending, 3)
		require.Less(t, pending[0].Seq, pending[1].Seq)
		require.Equal(t, "events.n0", pending[0].Subject)
		require.NoError(t, f.Outbox.MarkSent(ctx, []int64{pending[0].Seq, pending[1].Seq, pending[2].Seq}, now()))
		rest, err := f.Outbox.Pending(ctx, 10)
		require.NoError(t, err)
		require.Len(t, rest, 2)
		require.Equal(t, "events.n3", rest[0].Subject)
	})
}

// FileFixture is one store seen as the resource, file and purge ports.
type FileFixture struct {
	Resources app.ResourceRepository
	Files     app.FileRepository
	Purger    app.Purger
	Tx        ports.Transactor
	Events    ports.EventOutbox
	Outbox    ports.OutboxStore
}

func (f FileFixture) resources() ResourceFixture {
	return ResourceFixture{Resources: f.Resources, Tx: f.Tx, Events: f.Events, Outbox: f.Outbox}
}

func (f FileFixture) addFile(ctx context.Context, file domain.File, check func(domain.Resource) ([]ports.Event, error)) error {
	return unitOfWork(ctx, f.Tx, f.Events, func(ctx context.Context) (evs []ports.Event, err error) {
		err = f.Files.AddFile(ctx, file, func(parent domain.Resource) error {
			evs, err = check(parent)
			return err
		})
		return evs, err
	})
}

func (f FileFixture) deleteFile(ctx context.Context, resourceID, fileID string, at time.Time, check func(domain.Resource, domain.File) ([]ports.Event, error)) error {
	return unitOfWork(ctx, f.Tx, f.Events, func(ctx context.Context) (evs []ports.Event, err error) {
		err = f.Files.DeleteFile(ctx, resourceID, fileID, at, func(parent domain.Resource, file domain.File) error {
			evs, err = check(parent, file)
			return err
		})
		return evs, err
	})
}

// FileStore checks the file and purge ports.
func FileStore(t *testing.T, newStore func(t *testing.T) FileFixture) {
	ctx := context.Background()
	file := func(resourceID, name string, ts time.Time) domain.File {
		id := newID()
		return domain.File{ID: id, ResourceID: resourceID, Name: name, ContentType: "text/plain", Size: 5,
			SHA256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", BlobKey: "resources/" + resourceID + "/files/" + id, CreatedAt: ts,
			Status: domain.FileStored}
	}
	allow := func(domain.Resource) ([]ports.Event, error) { return []ports.Event{event("events.file.uploaded")}, nil }

	t.Run("add, list, get, delete", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		r := resourceAt(ownerA, domain.Private, ts)
		require.NoError(t, f.resources().create(ctx, r, nil, nil))
		a, b := file(r.ID, "a.txt", ts), file(r.ID, "b.txt", ts.Add(time.Second))
		require.NoError(t, f.addFile(ctx, a, allow))
		require.NoError(t, f.addFile(ctx, b, allow))
		require.ErrorIs(t, f.addFile(ctx, file(newID(), "c.txt", ts), allow), domain.ErrNotFound, "no parent")
		denied := fault.New(fault.Forbidden, "no")
		require.ErrorIs(t, f.addFile(ctx, file(r.ID, "d.txt", ts), func(domain.Resource) ([]ports.Event, error) { return nil, denied }), denied)

		list, err := f.Files.Files(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, []domain.File{a, b}, list)
		got, err := f.Files.File(ctx, r.ID, a.ID)
		require.NoError(t, err)
		require.Equal(t, a, got)
		_, err = f.Files.File(ctx, newID(), a.ID)
		require.ErrorIs(t, err, domain.ErrFileNotFound, "a file is only found under its resource")

		require.NoError(t, f.deleteFile(ctx, r.ID, a.ID, ts, func(domain.Resource, domain.File) ([]ports.Event, error) {
			return []ports.Event{event("events.file.deleted")}, nil
		}))
		_, err = f.Files.File(ctx, r.ID, a.ID)
		require.ErrorIs(t, err, domain.ErrFileNotFound)
		list, err = f.Files.Files(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, []domain.File{b}, list)
		require.Len(t, pendingIDs(t, f.Outbox), 3)
	})

	t.Run("reject a file", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		r := resourceAt(ownerA, domain.Private, ts)
		require.NoError(t, f.resources().create(ctx, r, nil, nil))
		fl := file(r.ID, "bad.json", ts)
		require.NoError(t, f.addFile(ctx, fl, allow))
		for range 2 { // idempotent
			require.NoError(t, f.Files.RejectFile(ctx, r.ID, fl.ID, "not valid JSON"))
		}
		got, err := f.Files.File(ctx, r.ID, fl.ID)
		require.NoError(t, err)
		require.Equal(t, domain.FileRejected, got.Status)
		require.Equal(t, "not valid JSON", got.RejectedReason)
		require.ErrorIs(t, f.Files.RejectFile(ctx, r.ID, newID(), "x"), domain.ErrFileNotFound)
	})

	t.Run("purge after the grace period", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		keep := resourceAt(ownerA, domain.Private, ts)
		gone := resourceAt(ownerA, domain.Private, ts)
		for _, r := range []domain.Resource{keep, gone} {
			require.NoError(t, f.resources().create(ctx, r, nil, nil))
		}
		deletedFile, liveFile, orphan := file(keep.ID, "old.txt", ts), file(keep.ID, "live.txt", ts), file(gone.ID, "orphan.txt", ts)
		for _, fl := range []domain.File{deletedFile, liveFile, orphan} {
			require.NoError(t, f.addFile(ctx, fl, allow))
		}
		require.NoError(t, f.deleteFile(ctx, keep.ID, deletedFile.ID, ts, func(domain.Resource, domain.File) ([]ports.Event, error) { return nil, nil }))
		require.NoError(t, f.resources().delete(ctx, gone.ID, ts, func(domain.Resource) ([]ports.Event, error) { return nil, nil }))

		early, err := f.Purger.PurgeableFiles(ctx, ts, 10)
		require.NoError(t, err)
		require.Empty(t, early, "nothing within the grace period")
		due, err := f.Purger.PurgeableFiles(ctx, ts.Add(time.Hour), 10)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{deletedFile.ID, orphan.ID}, []string{due[0].ID, due[1].ID})

		n, err := f.Purger.PurgeResources(ctx, ts.Add(time.Hour), 10)
		require.NoError(t, err)
		require.Zero(t, n, "a resource goes only after its files")
		require.NoError(t, f.Purger.ForgetFiles(ctx, []string{due[0].ID, due[1].ID}))
		n, err = f.Purger.PurgeResources(ctx, ts.Add(time.Hour), 10)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		left, err := f.Files.Files(ctx, keep.ID)
		require.NoError(t, err)
		require.Equal(t, []domain.File{liveFile}, left)
		_, err = f.Resources.Get(ctx, keep.ID)
		require.NoError(t, err)
	})
}
