package porttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// SearchStore checks a app.SearchStore: version ordering, tombstones,
// placeholders, idempotent replays and concurrent writers.
func SearchStore(t *testing.T, newStore func(t *testing.T) app.SearchStore) {
	ctx := context.Background()
	doc := func(id string, version int64, vis string) domain.Document {
		return domain.Document{ResourceID: id, OwnerID: "owner-1", Title: fmt.Sprintf("v%d", version), Visibility: vis,
			Tags: []string{"a", "b"}, Metadata: map[string]string{"k": "v"}, Version: version, UpdatedAt: now()}
	}
	set := func(id, file string, version int64, texts ...string) domain.ChunkSet {
		cs := domain.ChunkSet{ResourceID: id, FileID: file, Version: version, Model: "m1", Dimensions: 3}
		for i, tx := range texts {
			cs.Chunks = append(cs.Chunks, domain.Chunk{ID: fmt.Sprintf("%s-%s-%s", id[:8], file, tx), Index: i, Text: tx,
				Vector: []float32{float32(i), 0.5, -1.25}})
		}
		return cs
	}
	texts := func(cs []domain.Chunk) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.Text)
		}
		return out
	}

	t.Run("documents apply newest version only", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := newID()
		ok, err := s.PutDocument(ctx, doc(id, 2, domain.Private))
		require.NoError(t, err)
		require.True(t, ok)
		for _, v := range []int64{2, 1} {
			ok, err = s.PutDocument(ctx, doc(id, v, domain.Public))
			require.NoError(t, err)
			require.False(t, ok, "version %d is not newer", v)
		}
		got, err := s.Document(ctx, id)
		require.NoError(t, err)
		require.Equal(t, domain.Private, got.Visibility)
		require.Equal(t, []string{"a", "b"}, got.Tags)
		require.Equal(t, map[string]string{"k": "v"}, got.Metadata)
		ok, err = s.PutDocument(ctx, doc(id, 3, domain.Public))
		require.NoError(t, err)
		require.True(t, ok)
		got, err = s.Document(ctx, id)
		require.NoError(t, err)
		require.Equal(t, domain.Public, got.Visibility)
		require.EqualValues(t, 3, got.Version)
		_, err = s.Document(ctx, newID())
		require.True(t, fault.Of(err, fault.NotFound))
	})

	t.Run("chunk sets replace by source and version", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := newID()
		// Chunks first: a placeholder document only admins can see.
		ok, err := s.ReplaceChunks(ctx, set(id, "", 2, "alpha", "beta"))
		require.NoError(t, err)
		require.True(t, ok)
		ph, err := s.Document(ctx, id)
		require.NoError(t, err)
		require.False(t, ph.Known())
		require.False(t, domain.Caller{Subject: "owner-1", Scopes: []string{domain.ScopeResourcesRead}}.CanRead(ph))
		ok, err = s.PutDocument(ctx, doc(id, 1, domain.Private))
		require.NoError(t, err)
		require.True(t, ok, "the resource event replaces the placeholder")

		ok, err = s.ReplaceChunks(ctx, set(id, "f1", 0, "file text"))
		require.NoError(t, err)
		require.True(t, ok)
		got, err := s.Chunks(ctx, id)
		require.NoError(t, err)
		require.Equal(t, []string{"alpha", "beta", "file text"}, texts(got))
		require.Equal(t, []float32{1, 0.5, -1.25}, got[1].Vector, "vectors round-trip exactly")
		require.Equal(t, "m1", got[0].Model)
		require.Equal(t, "f1", got[2].FileID)

		ok, err = s.ReplaceChunks(ctx, set(id, "", 1, "stale"))
		require.NoError(t, err)
		require.False(t, ok, "an older version never overwrites a newer one")
		ok, err = s.ReplaceChunks(ctx, set(id, "", 2, "alpha", "beta"))
		require.NoError(t, err)
		require.True(t, ok, "the same version again is a harmless replay")
		ok, err = s.ReplaceChunks(ctx, set(id, "", 3, "gamma"))
		require.NoError(t, err)
		require.True(t, ok)
		got, err = s.Chunks(ctx, id)
		require.NoError(t, err)
		require.Equal(t, []string{"gamma", "file text"}, texts(got))

		dup := set(id, "f2", 0, "same", "same")
		ok, err = s.ReplaceChunks(ctx, dup)
		require.NoError(t, err)
		require.True(t, ok)
		got, err = s.Chunks(ctx, id)
		require.NoError(t, err)
		require.Len(t, got, 3, "a repeated chunk id is stored once")
	})

	t.Run("a file's chunk set of full-size vectors is kept whole and exact", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := newID()
		_, err := s.PutDocument(ctx, doc(id, 1, domain.Private))
		require.NoError(t, err)
		// An upload's size: more chunks than a store may write in one
		// statement, each with a 1,024-dimension vector, a repeated id, and
		// a few short vectors among them.
		big := domain.ChunkSet{ResourceID: id, FileID: "f1", Version: 0, Model: "m1024", Dimensions: 1024}
		for i := range 257 {
			vec := make([]float32, 1024)
			if i%50 == 7 {
				vec = vec[:3]
			}
			for j := range vec {
				vec[j] = float32(i) + float32(j)/1024
			}
			big.Chunks = append(big.Chunks, domain.Chunk{ID: fmt.Sprintf("%s-f1-%03d", id[:8], i), Index: i,
				Text: fmt.Sprintf("chunk %d", i), Vector: vec})
		}
		first := big.Chunks[200]
		big.Chunks = append(big.Chunks, domain.Chunk{ID: first.ID, Index: 257, Text: "the repeat", Vector: make([]float32, 1024)})
		ok, err := s.ReplaceChunks(ctx, big)
		require.NoError(t, err)
		require.True(t, ok)
		got, err := s.Chunks(ctx, id)
		require.NoError(t, err)
		require.Equal(t, 257, len(got), "every chunk once, the repeat not again")
		for i, c := range got {
			want := big.Chunks[i]
			require.Equal(t, want.ID, c.ID)
			require.Equal(t, want.Text, c.Text)
			require.Equal(t, "m1024", c.Model)
			require.Equal(t, want.Vector, c.Vector, "vector of chunk %d", i)
		}

		ok, err = s.ReplaceChunks(ctx, set(id, "f1", 0, "shorter"))
		require.NoError(t, err)
		require.True(t, ok)
		got, err = s.Chunks(ctx, id)
		require.NoError(t, err)
		require.Equal(t, []string{"shorter"}, texts(got), "a new set replaces the whole big one")
	})

	t.Run("deleted files and documents stay deleted", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := newID()
		_, err := s.PutDocument(ctx, doc(id, 1, domain.Public))
		require.NoError(t, err)
		_, err = s.ReplaceChunks(ctx, set(id, "f1", 0, "one"))
		require.NoError(t, err)
		_, err = s.ReplaceChunks(ctx, set(id, "", 1, "body"))
		require.NoError(t, err)
		ok, err := s.DeleteSource(ctx, id, "f1")
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.DeleteSource(ctx, id, "f1")
		require.NoError(t, err)
		require.False(t, ok)
		ok, err = s.ReplaceChunks(ctx, set(id, "f1", 0, "late"))
		require.NoError(t, err)
		require.False(t, ok, "a late chunk set of a deleted file is ignored")
		got, err := s.Chunks(ctx, id)
		require.NoError(t, err)
		require.Equal(t, []string{"body"}, texts(got))

		ok, err = s.DeleteDocument(ctx, id, 2)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.DeleteDocument(ctx, id, 2)
		require.NoError(t, err)
		require.False(t, ok)
		got, err = s.Chunks(ctx, id)
		require.NoError(t, err)
		require.Empty(t, got)
		for _, late := range []func() (bool, error){
			func() (bool, error) { return s.PutDocument(ctx, doc(id, 5, domain.Public)) },
			func() (bool, error) { return s.ReplaceChunks(ctx, set(id, "", 5, "zombie")) },
		} {
			ok, err = late()
			require.NoError(t, err)
			require.False(t, ok, "nothing brings a deleted document back")
		}
		d, err := s.Document(ctx, id)
		require.NoError(t, err)
		require.True(t, d.Deleted)
		ok, err = s.DeleteDocument(ctx, newID(), 1)
		require.NoError(t, err)
		require.True(t, ok, "deleting an unknown document leaves a tombstone")
	})

	t.Run("documents page in id order without tombstones", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var ids []string
		for range 5 {
			id := newID()
			ids = append(ids, id)
			_, err := s.PutDocument(ctx, doc(id, 1, domain.Internal))
			require.NoError(t, err)
		}
		_, err := s.DeleteDocument(ctx, ids[2], 2)
		require.NoError(t, err)
		first, err := s.Documents(ctx, "", 2)
		require.NoError(t, err)
		require.Len(t, first, 2)
		rest, err := s.Documents(ctx, first[1].ResourceID, 10)
		require.NoError(t, err)
		var got []string
		for _, d := range append(first, rest...) {
			got = append(got, d.ResourceID)
		}
		require.Equal(t, []string{ids[0], ids[1], ids[3], ids[4]}, got)
		require.WithinDuration(t, now(), first[0].UpdatedAt, time.Minute)
	})

	t.Run("concurrent writers leave the newest version", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := newID()
		var wg sync.WaitGroup
		for v := int64(1); v <= 12; v++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, err := s.PutDocument(ctx, doc(id, v, domain.Private))
				require.NoError(t, err)
			}()
			go func() {
				defer wg.Done()
				_, err := s.ReplaceChunks(ctx, set(id, "", v, fmt.Sprintf("text-v%d", v)))
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		d, err := s.Document(ctx, id)
		require.NoError(t, err)
		require.EqualValues(t, 12, d.Version)
		got, err := s.Chunks(ctx, id)
		require.NoError(t, err)
		require.Equal(t, []string{"text-v12"}, texts(got))
	})

	t.Run("changes made together are kept together or not at all", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		kept, dropped := newID(), newID()
		_, err := s.PutDocument(ctx, doc(dropped, 1, domain.Private))
		require.NoError(t, err)
		require.NoError(t, s.Together(ctx, func(tx app.SearchStore) error {
			for _, change := range []func() (bool, error){
				func() (bool, error) { return tx.PutDocument(ctx, doc(kept, 1, domain.Public)) },
				func() (bool, error) { return tx.ReplaceChunks(ctx, set(kept, "", 1, "alpha", "beta")) },
				func() (bool, error) { return tx.PutDocument(ctx, doc(kept, 2, domain.Public)) },
			} {
				ok, err := change()
				require.NoError(t, err)
				require.True(t, ok)
			}
			d, err := tx.Document(ctx, kept)
			require.NoError(t, err)
			require.EqualValues(t, 2, d.Version, "a change is seen by the next one in the same transaction")
			return nil
		}))
		d, err := s.Document(ctx, kept)
		require.NoError(t, err)
		require.EqualValues(t, 2, d.Version)
		got, err := s.Chunks(ctx, kept)
		require.NoError(t, err)
		require.Equal(t, []string{"alpha", "beta"}, texts(got))

		errLater := errors.New("a later change failed")
		err = s.Together(ctx, func(tx app.SearchStore) error {
			_, err := tx.PutDocument(ctx, doc(dropped, 2, domain.Public))
			require.NoError(t, err)
			_, err = tx.ReplaceChunks(ctx, set(dropped, "", 1, "gamma"))
			require.NoError(t, err)
			_, err = tx.DeleteDocument(ctx, kept, 3)
			require.NoError(t, err)
			return errLater
		})
		require.ErrorIs(t, err, errLater)
		d, err = s.Document(ctx, dropped)
		require.NoError(t, err)
		require.EqualValues(t, 1, d.Version, "nothing of a failed Together is kept")
		got, err = s.Chunks(ctx, dropped)
		require.NoError(t, err)
		require.Empty(t, got)
		d, err = s.Document(ctx, kept)
		require.NoError(t, err)
		require.False(t, d.Deleted)
	})

	t.Run("in one Together, each change sees what the ones before it did to a document", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id, other := newID(), newID()
		steps := []step{
			{"another document", true, func(tx app.SearchStore) (bool, error) { return tx.PutDocument(ctx, doc(other, 4, domain.Public)) }},
			{"chunks first make a placeholder", true, func(tx app.SearchStore) (bool, error) { return tx.ReplaceChunks(ctx, set(id, "", 1, "alpha")) }},
			{"the document replaces it", true, func(tx app.SearchStore) (bool, error) { return tx.PutDocument(ctx, doc(id, 1, domain.Public)) }},
			{"the same version again is not newer", false, func(tx app.SearchStore) (bool, error) { return tx.PutDocument(ctx, doc(id, 1, domain.Private)) }},
			{"a newer one is", true, func(tx app.SearchStore) (bool, error) { return tx.PutDocument(ctx, doc(id, 2, domain.Private)) }},
			{"an older one is not", false, func(tx app.SearchStore) (bool, error) { return tx.PutDocument(ctx, doc(id, 1, domain.Public)) }},
			{"another document's version is its own", false, func(tx app.SearchStore) (bool, error) { return tx.PutDocument(ctx, doc(other, 3, domain.Private)) }},
			{"a file's chunks", true, func(tx app.SearchStore) (bool, error) { return tx.ReplaceChunks(ctx, set(id, "f1", 0, "file text")) }},
			{"the delete", true, func(tx app.SearchStore) (bool, error) { return tx.DeleteDocument(ctx, id, 3) }},
			{"a delete again", false, func(tx app.SearchStore) (bool, error) { return tx.DeleteDocument(ctx, id, 3) }},
			{"chunks after the delete", false, func(tx app.SearchStore) (bool, error) { return tx.ReplaceChunks(ctx, set(id, "", 5, "zombie")) }},
			{"a document after the delete", false, func(tx app.SearchStore) (bool, error) { return tx.PutDocument(ctx, doc(id, 5, domain.Public)) }},
		}
		applyTogether(t, s, steps)
		d, err := s.Document(ctx, id)
		require.NoError(t, err)
		require.True(t, d.Deleted)
		require.EqualValues(t, 3, d.Version)
		require.Equal(t, domain.Private, d.Visibility, "the tombstone keeps the last fields it had")
		chunks, err := s.Chunks(ctx, id)
		require.NoError(t, err)
		require.Empty(t, chunks)
		d, err = s.Document(ctx, other)
		require.NoError(t, err)
		require.EqualValues(t, 4, d.Version)
		require.Equal(t, domain.Public, d.Visibility)
	})

	t.Run("in one Together, documents new to it keep their versions, sources and tombstones", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		created, unseen, filed := newID(), newID(), newID()
		steps := []step{
			{"a new document", true, func(tx app.SearchStore) (bool, error) { return tx.PutDocument(ctx, doc(created, 1, domain.Public)) }},
			{"its version again", false, func(tx app.SearchStore) (bool, error) { return tx.PutDocument(ctx, doc(created, 1, domain.Private)) }},
			{"its first chunks", true, func(tx app.SearchStore) (bool, error) { return tx.ReplaceChunks(ctx, set(created, "", 1, "ab")) }},
			{"newer chunks replace them", true, func(tx app.SearchStore) (bool, error) { return tx.ReplaceChunks(ctx, set(created, "", 2, "gamma")) }},
			{"older chunks do not", false, func(tx app.SearchStore) (bool, error) { return tx.ReplaceChunks(ctx, set(created, "", 1, "stale")) }},
			{"a delete of a document never seen", true, func(tx app.SearchStore) (bool, error) { return tx.DeleteDocument(ctx, unseen, 2) }},
			{"its document arriving late", false, func(tx app.SearchStore) (bool, error) { return tx.PutDocument(ctx, doc(unseen, 1, domain.Public)) }},
			{"its chunks arriving late", false, func(tx app.SearchStore) (bool, error) { return tx.ReplaceChunks(ctx, set(unseen, "", 1, "zombie")) }},
			{"a file deleted before anything of its resource came", true, func(tx app.SearchStore) (bool, error) { return tx.DeleteSource(ctx, filed, "f1") }},
			{"that file's chunks arriving late", false, func(tx app.SearchStore) (bool, error) { return tx.ReplaceChunks(ctx, set(filed, "f1", 0, "late")) }},
			{"its resource's own document", true, func(tx app.SearchStore) (bool, error) { return tx.PutDocument(ctx, doc(filed, 1, domain.Public)) }},
		}
		applyTogether(t, s, steps)
		d, err := s.Document(ctx, created)
		require.NoError(t, err)
		require.Equal(t, doc(created, 1, domain.Public).Title, d.Title)
		require.Equal(t, domain.Public, d.Visibility)
		require.Equal(t, []string{"a", "b"}, d.Tags)
		chunks, err := s.Chunks(ctx, created)
		require.NoError(t, err)
		require.Equal(t, []string{"gamma"}, texts(chunks), "the newer set replaced the first")
		d, err = s.Document(ctx, unseen)
		require.NoError(t, err)
		require.True(t, d.Deleted)
		require.EqualValues(t, 2, d.Version)
		chunks, err = s.Chunks(ctx, unseen)
		require.NoError(t, err)
		require.Empty(t, chunks)
		d, err = s.Document(ctx, filed)
		require.NoError(t, err)
		require.EqualValues(t, 1, d.Version)
		chunks, err = s.Chunks(ctx, filed)
		require.NoError(t, err)
		require.Empty(t, chunks)
	})

	t.Run("many documents are read at once as one at a time", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// More ids than an adapter may name in one query (the MySQL one
		// names 200), in no order, with a repeat, a tombstone, a
		// document without chunks and an id the store has never seen.
		var ids []string
		require.NoError(t, s.Together(ctx, func(tx app.SearchStore) error {
			for i := range 450 {
				id := newID()
				ids = append(ids, id)
				if _, err := tx.PutDocument(ctx, doc(id, 1, domain.Public)); err != nil {
					return err
				}
				if i%3 == 0 {
					continue
				}
				if _, err := tx.ReplaceChunks(ctx, set(id, "", 1, "body", fmt.Sprint(i))); err != nil {
					return err
				}
				if _, err := tx.ReplaceChunks(ctx, set(id, "00000000-0000-7000-8000-000000000001", 1, "file")); err != nil {
					return err
				}
			}
			return nil
		}))
		deleted, unknown := ids[7], newID()
		_, err := s.DeleteDocument(ctx, deleted, 2)
		require.NoError(t, err)
		slices.Reverse(ids)
		ids = append(ids, unknown, ids[3])

		want := make([]domain.Refresh, len(ids))
		for i, id := range ids {
			want[i] = domain.Refresh{ResourceID: id}
		}
		got, err := s.Indexed(ctx, want)
		require.NoError(t, err)
		require.Len(t, got, len(ids))
		for i, id := range ids {
			want := domain.Indexed{Document: domain.Document{ResourceID: id, Deleted: true}}
			if id != unknown {
				want.Document, err = s.Document(ctx, id)
				require.NoError(t, err)
			}
			if !want.Document.Deleted {
				want.Chunks, err = s.Chunks(ctx, id)
				require.NoError(t, err)
			}
			require.Equal(t, want.Document, got[i].Document, "document %d", i)
			require.Equal(t, want.Chunks, got[i].Chunks, "chunks of document %d", i)
		}
		require.True(t, got[slices.Index(ids, deleted)].Document.Deleted)
		require.Len(t, got[len(ids)-1].Chunks, 3, "a repeated id is read in full each time")
		for _, in := range got {
			require.Nil(t, in.Sources, "every source was wanted")
		}

		// Some sources only: the file's chunks, the body's, both, or
		// none; for the same resource in one call, beside it whole; a
		// deleted document is whole whatever was asked.
		withChunks := ids[3]
		parts, err := s.Indexed(ctx, []domain.Refresh{
			{ResourceID: withChunks, Sources: []string{"00000000-0000-7000-8000-000000000001"}},
			{ResourceID: withChunks, Sources: []string{""}},
			{ResourceID: withChunks},
			{ResourceID: withChunks, Sources: []string{"", "00000000-0000-7000-8000-000000000001"}},
			{ResourceID: withChunks, Sources: []string{"00000000-0000-7000-8000-000000000002"}},
			{ResourceID: deleted, Sources: []string{""}},
			{ResourceID: unknown, Sources: []string{""}},
		})
		require.NoError(t, err)
		require.Len(t, parts, 7)
		require.Equal(t, []string{"file"}, texts(parts[0].Chunks))
		require.Equal(t, []string{"00000000-0000-7000-8000-000000000001"}, parts[0].Sources)
		require.Len(t, parts[1].Chunks, 2)
		require.Equal(t, []string{"body"}, texts(parts[1].Chunks[:1]))
		require.Equal(t, []string{""}, parts[1].Sources)
		require.Len(t, parts[2].Chunks, 3)
		require.Nil(t, parts[2].Sources)
		require.Len(t, parts[3].Chunks, 3)
		require.Empty(t, parts[4].Chunks, "a file without chunks")
		require.NotNil(t, parts[4].Chunks)
		for _, in := range parts[:5] {
			require.Equal(t, withChunks, in.Document.ResourceID)
			require.False(t, in.Document.Deleted)
			for _, c := range in.Chunks {
				require.True(t, in.Replaces(c.FileID), "a chunk of a source that was not wanted: %+v", c)
			}
		}
		for _, in := range parts[5:] {
			require.True(t, in.Document.Deleted)
			require.True(t, in.Whole())
			require.Empty(t, in.Chunks)
		}

		none, err := s.Indexed(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, none)
	})
}

// step is one change of a Together, and whether it should apply.
type step struct {
	what   string
	want   bool
	change func(app.SearchStore) (bool, error)
}

// applyTogether makes the changes in one Together, then checks each
// one's outcome: after the transaction, not inside it.
func applyTogether(t *testing.T, s app.SearchStore, steps []step) {
	t.Helper()
	got := make([]bool, len(steps))
	require.NoError(t, s.Together(context.Background(), func(tx app.SearchStore) error {
		for i, st := range steps {
			ok, err := st.change(tx)
			if err != nil {
				return fmt.Errorf("%s: %w", st.what, err)
			}
			got[i] = ok
		}
		return nil
	}))
	for i, st := range steps {
		require.Equal(t, st.want, got[i], st.what)
	}
}
