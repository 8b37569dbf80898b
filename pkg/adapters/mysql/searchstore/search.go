package searchstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/searchstore/internal/searchdb"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// SearchStore is the MySQL-protocol app.SearchStore. Each change runs in
// a transaction that locks the document row first, so concurrent events
// for one resource apply one after the other and version checks hold.
type SearchStore struct {
	db *sql.DB
	q  *searchdb.Queries
	// tx, when set, is the transaction of Together that every change
	// joins, instead of running in one of its own.
	tx *sql.Tx
	// locked holds the documents Together's transaction has locked, as
	// its changes left them. The rows stay locked until it ends, so a
	// later change to one need not lock and read it again: a created
	// resource's event is two changes to one document (its fields, its
	// chunks), and the second lock was two of the eleven statements it
	// cost.
	locked map[string]lockedDoc
}

// lockedDoc is a document whose row the transaction holds.
type lockedDoc struct {
	domain.Document
	// sourceless: the transaction made the row, and has written none of
	// its sources since, so none exists. Sources are written only under
	// their document's lock, and documents are never removed (a deleted
	// one is a tombstone), so a document absent until now had none.
	sourceless bool
}

var _ app.SearchStore = (*SearchStore)(nil)

// NewSearchStore returns the store over db (migrated with schema.Search).
func NewSearchStore(db *sql.DB) *SearchStore { return &SearchStore{db: db, q: searchdb.New(db)} }

var errDocNotFound = fault.New(fault.NotFound, "document not found")

// change runs fn in the store's transaction: Together's, or a new one,
// retried when the server rolls it back for a deadlock.
func (s *SearchStore) change(ctx context.Context, fn func(q *searchdb.Queries, tx *sql.Tx) error) error {
	if s.tx != nil {
		return fn(s.q, s.tx)
	}
	return mysql.InTxRetrying(ctx, s.db, func(tx *sql.Tx) error { return fn(s.q.WithTx(tx), tx) })
}

// Together runs fn with a store whose changes share one transaction,
// committed when fn returns nil. A deadlock rolls the whole of it back,
// and fn runs again.
func (s *SearchStore) Together(ctx context.Context, fn func(app.SearchStore) error) error {
	if s.tx != nil {
		return fn(s)
	}
	return mysql.InTxRetrying(ctx, s.db, func(tx *sql.Tx) error {
		return fn(&SearchStore{db: s.db, q: s.q.WithTx(tx), tx: tx, locked: map[string]lockedDoc{}})
	})
}

// lockDocument locks the document row, so that every change to a
// resource is serialised. A document that does not exist is inserted as
// absent (a placeholder unless the caller brings its own row), and its
// insert holds the lock: only a row that existed is read back, and made
// tells whether this call inserted it. In Together's transaction, a
// document it locked already is not read again.
func (s *SearchStore) lockDocument(ctx context.Context, q *searchdb.Queries, id string, absent *domain.Document) (d lockedDoc, made bool, err error) {
	if d, ok := s.locked[id]; ok {
		return d, false, nil
	}
	if absent == nil {
		absent = &domain.Document{ResourceID: id, Visibility: domain.Private,
			UpdatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	}
	tags, meta, err := encodeDocSets(*absent)
	if err != nil {
		return lockedDoc{}, false, err
	}
	n, err := q.InsertDocumentIfAbsent(ctx, searchdb.InsertDocumentIfAbsentParams{
		ResourceID: id, OwnerID: absent.OwnerID, Title: absent.Title, Visibility: absent.Visibility,
		Tags: tags, Metadata: meta, Version: absent.Version, UpdatedAt: absent.UpdatedAt.UTC(), Deleted: absent.Deleted,
	})
	if err != nil {
		return lockedDoc{}, false, mysql.Translate(err)
	}
	made = n == 1
	d = lockedDoc{Document: *absent, sourceless: made}
	if !made {
		row, err := q.LockDocument(ctx, id)
		if err != nil {
			return lockedDoc{}, false, mysql.Lookup(err, errDocNotFound)
		}
		if d.Document, err = documentOf(row); err != nil {
			return lockedDoc{}, false, err
		}
	}
	s.note(d)
	return d, made, nil
}

// note keeps a locked document's state, in Together's transaction.
func (s *SearchStore) note(d lockedDoc) {
	if s.locked != nil {
		s.locked[d.ResourceID] = d
	}
}

// PutDocument stores d if it is newer than what is stored.
func (s *SearchStore) PutDocument(ctx context.Context, d domain.Document) (bool, error) {
	applied := false
	err := s.change(ctx, func(q *searchdb.Queries, tx *sql.Tx) error {
		// A new document is inserted as it comes, which saves reading a
		// placeholder back and overwriting it. Only a version above the
		// placeholder's 0 would overwrite it.
		d.Deleted = false
		var absent *domain.Document
		if d.Version > 0 {
			absent = &d
		}
		cur, made, err := s.lockDocument(ctx, q, d.ResourceID, absent)
		if err != nil {
			return err
		}
		if made && absent != nil {
			applied = true
			return nil
		}
		if cur.Deleted || cur.Version >= d.Version {
			return nil
		}
		tags, meta, err := encodeDocSets(d)
		if err != nil {
			return err
		}
		if err := q.UpsertDocument(ctx, searchdb.UpsertDocumentParams{
			ResourceID: d.ResourceID, OwnerID: d.OwnerID, Title: d.Title, Visibility: d.Visibility,
			Tags: tags, Metadata: meta, Version: d.Version, UpdatedAt: d.UpdatedAt.UTC(),
		}); err != nil {
			return mysql.Translate(err)
		}
		applied = true
		cur.Document = d
		s.note(cur)
		return nil
	})
	return applied, err
}

// DeleteDocument tombstones the document and removes its chunks.
func (s *SearchStore) DeleteDocument(ctx context.Context, resourceID string, version int64) (bool, error) {
	applied := false
	err := s.change(ctx, func(q *searchdb.Queries, tx *sql.Tx) error {
		// A document never seen is inserted as its tombstone, so that a
		// late event cannot bring it back.
		tomb := domain.Document{ResourceID: resourceID, Visibility: domain.Private, Version: max(version, 0),
			UpdatedAt: time.Now().UTC().Truncate(time.Microsecond), Deleted: true}
		cur, made, err := s.lockDocument(ctx, q, resourceID, &tomb)
		if err != nil {
			return err
		}
		if made {
			applied = true
			return nil
		}
		if cur.Deleted {
			return nil
		}
		tags, meta, err := encodeDocSets(cur.Document)
		if err != nil {
			return err
		}
		applied = true
		if err := q.UpsertDocument(ctx, searchdb.UpsertDocumentParams{
			ResourceID: resourceID, OwnerID: cur.OwnerID, Title: cur.Title, Visibility: cur.Visibility,
			Tags: tags, Metadata: meta, Version: max(version, cur.Version), UpdatedAt: cur.UpdatedAt.UTC(), Deleted: true,
		}); err != nil {
			return mysql.Translate(err)
		}
		cur.Version, cur.Deleted = max(version, cur.Version), true
		s.note(cur)
		if cur.sourceless {
			return nil // nor chunks, which are written only with their source
		}
		if err := q.DeleteResourceChunks(ctx, resourceID); err != nil {
			return mysql.Translate(err)
		}
		return mysql.Translate(q.DeleteSources(ctx, resourceID))
	})
	return applied, err
}

// ReplaceChunks swaps a source's chunks for the set's.
func (s *SearchStore) ReplaceChunks(ctx context.Context, set domain.ChunkSet) (bool, error) {
	applied := false
	err := s.change(ctx, func(q *searchdb.Queries, tx *sql.Tx) error {
		doc, _, err := s.lockDocument(ctx, q, set.ResourceID, nil)
		if err != nil || doc.Deleted {
			return err
		}
		// A source's chunks are written only with its row (here), and
		// removed with it (DeleteDocument): a source without a row has
		// none to delete, which saves a created resource's set a
		// statement. A document the transaction made has no source to
		// read.
		fresh := doc.sourceless
		if !fresh {
			src, err := q.LockSource(ctx, searchdb.LockSourceParams{ResourceID: set.ResourceID, FileID: set.FileID})
			switch {
			case errors.Is(err, sql.ErrNoRows):
				fresh = true
			case err != nil:
				return mysql.Translate(err)
			case src.Deleted || src.Version > set.Version:
				return nil
			}
		}
		if err := q.UpsertSource(ctx, searchdb.UpsertSourceParams{ResourceID: set.ResourceID, FileID: set.FileID,
			Version: set.Version, Model: set.Model, Dimensions: int32(set.Dimensions)}); err != nil {
			return mysql.Translate(err)
		}
		doc.sourceless = false
		s.note(doc)
		if !fresh {
			if _, err := q.DeleteSourceChunks(ctx, searchdb.DeleteSourceChunksParams{ResourceID: set.ResourceID, FileID: set.FileID}); err != nil {
				return mysql.Translate(err)
			}
		}
		applied = true
		return insertChunks(ctx, tx, set)
	})
	return applied, err
}

// chunkColumns are search_chunks' columns in the order insertChunks gives
// their values.
var chunkColumns = []string{"resource_id", "file_id", "chunk_id", "seq", "text", "model", "vector"}

// insertChunks writes the set in multi-row INSERTs: sqlc's MySQL engine has
// no batch insert, and one statement per chunk costs a round trip each. An
// upload's set of 1,024-dimension vectors is prepared (ADR 0059). A
// repeated chunk id within a set keeps its first occurrence.
func insertChunks(ctx context.Context, tx *sql.Tx, set domain.ChunkSet) error {
	rows := make([][]any, len(set.Chunks))
	for i, c := range set.Chunks {
		rows[i] = []any{set.ResourceID, set.FileID, c.ID, c.Index, c.Text, set.Model, events.EncodeVector(c.Vector)}
	}
	return mysql.InsertNewRows(ctx, tx, "search_chunks", chunkColumns, rows)
}

// DeleteSource removes a file's chunks and tombstones the source.
func (s *SearchStore) DeleteSource(ctx context.Context, resourceID, fileID string) (bool, error) {
	applied := false
	err := s.change(ctx, func(q *searchdb.Queries, tx *sql.Tx) error {
		doc, _, err := s.lockDocument(ctx, q, resourceID, nil)
		if err != nil {
			return err
		}
		if !doc.sourceless {
			src, err := q.LockSource(ctx, searchdb.LockSourceParams{ResourceID: resourceID, FileID: fileID})
			if err == nil && src.Deleted {
				return nil
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return mysql.Translate(err)
			}
		}
		applied = true
		if err := q.UpsertSource(ctx, searchdb.UpsertSourceParams{ResourceID: resourceID, FileID: fileID, Deleted: true}); err != nil {
			return mysql.Translate(err)
		}
		if doc.sourceless {
			doc.sourceless = false
			s.note(doc)
			return nil // nor chunks, which are written only with their source
		}
		_, err = q.DeleteSourceChunks(ctx, searchdb.DeleteSourceChunksParams{ResourceID: resourceID, FileID: fileID})
		return mysql.Translate(err)
	})
	return applied, err
}

// Document returns one document.
func (s *SearchStore) Document(ctx context.Context, resourceID string) (domain.Document, error) {
	row, err := s.q.GetDocument(ctx, resourceID)
	if err != nil {
		return domain.Document{}, mysql.Lookup(err, errDocNotFound)
	}
	return documentOf(row)
}

// Chunks returns a document's chunks.
func (s *SearchStore) Chunks(ctx context.Context, resourceID string) ([]domain.Chunk, error) {
	rows, err := s.q.ListChunks(ctx, resourceID)
	if err != nil {
		return nil, mysql.Translate(err)
	}
	out := make([]domain.Chunk, 0, len(rows))
	for _, r := range rows {
		c, err := chunkOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// idsPerQuery bounds the ids one query of Indexed names, and so the size
// of its statement, whatever a caller asks for.
const idsPerQuery = 200

// Indexed reads the documents wanted, then the chunks of the live ones:
// those wanted whole in one query, those wanted in part (some sources) in
// another, per idsPerQuery documents.
func (s *SearchStore) Indexed(ctx context.Context, want []domain.Refresh) ([]domain.Indexed, error) {
	out := make([]domain.Indexed, 0, len(want))
	for part := range slices.Chunk(want, idsPerQuery) {
		at := make(map[string][]int, len(part)) // a resource's places in out
		ids := make([]string, 0, len(part))
		for _, w := range part {
			if at[w.ResourceID] == nil {
				ids = append(ids, w.ResourceID)
			}
			at[w.ResourceID] = append(at[w.ResourceID], len(out))
			out = append(out, domain.Indexed{Document: domain.Document{ResourceID: w.ResourceID, Deleted: true}})
		}
		docs, err := s.q.GetDocuments(ctx, ids)
		if err != nil {
			return nil, mysql.Translate(err)
		}
		base := len(out) - len(part)
		var whole, some, files []string
		for _, r := range docs {
			d, err := documentOf(r)
			if err != nil {
				return nil, err
			}
			for _, i := range at[d.ResourceID] {
				out[i] = domain.Indexed{Document: d}
				if d.Deleted {
					continue
				}
				out[i].Chunks, out[i].Sources = []domain.Chunk{}, slices.Clone(part[i-base].Sources)
				if out[i].Whole() {
					whole = append(whole, d.ResourceID)
				} else {
					some = append(some, d.ResourceID)
					files = append(files, out[i].Sources...)
				}
			}
		}
		if len(whole) > 0 {
			rows, err := s.q.ListChunksOf(ctx, whole)
			if err != nil {
				return nil, mysql.Translate(err)
			}
			if err := place(out, at, rows, true); err != nil {
				return nil, err
			}
		}
		if len(files) > 0 {
			slices.Sort(files)
			rows, err := s.q.ListSourceChunks(ctx, searchdb.ListSourceChunksParams{ResourceIds: some, FileIds: slices.Compact(files)})
			if err != nil {
				return nil, mysql.Translate(err)
			}
			if err := place(out, at, rows, false); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// place appends each chunk read to the places in out that want it: those
// wanted whole, or those wanted in part whose sources include the
// chunk's (the query of parts reads the pairs of every resource and
// file id it names, a few more than wanted).
func place(out []domain.Indexed, at map[string][]int, rows []searchdb.SearchChunk, whole bool) error {
	for _, r := range rows {
		c, err := chunkOf(r)
		if err != nil {
			return err
		}
		for _, i := range at[c.ResourceID] {
			if in := out[i]; !in.Document.Deleted && in.Whole() == whole && in.Replaces(c.FileID) {
				out[i].Chunks = append(out[i].Chunks, c)
			}
		}
	}
	return nil
}

func chunkOf(r searchdb.SearchChunk) (domain.Chunk, error) {
	vec, err := events.DecodeVector(r.Vector)
	if err != nil {
		return domain.Chunk{}, err
	}
	return domain.Chunk{ID: r.ChunkID, ResourceID: r.ResourceID, FileID: r.FileID, Index: int(r.Seq),
		Text: r.Text, Model: r.Model, Vector: vec}, nil
}

// Documents pages through live documents.
func (s *SearchStore) Documents(ctx context.Context, after string, limit int) ([]domain.Document, error) {
	rows, err := s.q.ListDocuments(ctx, searchdb.ListDocumentsParams{ResourceID: after, Limit: int32(limit)})
	if err != nil {
		return nil, mysql.Translate(err)
	}
	out := make([]domain.Document, 0, len(rows))
	for _, r := range rows {
		d, err := documentOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func encodeDocSets(d domain.Document) (tags, meta []byte, err error) {
	t, m := d.Tags, d.Metadata
	if t == nil {
		t = []string{}
	}
	if m == nil {
		m = map[string]string{}
	}
	if tags, err = json.Marshal(t); err != nil {
		return nil, nil, err
	}
	meta, err = json.Marshal(m)
	return tags, meta, err
}

func documentOf(r searchdb.SearchDocument) (domain.Document, error) {
	d := domain.Document{ResourceID: r.ResourceID, OwnerID: r.OwnerID, Title: r.Title, Visibility: r.Visibility,
		Version: r.Version, UpdatedAt: r.UpdatedAt.UTC(), Deleted: r.Deleted}
	if err := json.Unmarshal(r.Tags, &d.Tags); err != nil {
		return d, err
	}
	if err := json.Unmarshal(r.Metadata, &d.Metadata); err != nil {
		return d, err
	}
	return d, nil
}
