package app

import (
	"context"

	"github.com/lattice-platform/lattice/services/search/domain"
)

// SearchStore is the search service's source of truth: documents (with
// tombstones for deleted ones) and chunk sets with their vectors. Every
// change is idempotent and ordered by version, so redelivered or late
// events change nothing: each method reports whether it changed anything.
type SearchStore interface {
	// PutDocument stores d unless the stored document has a version at
	// least as new, or is deleted.
	PutDocument(ctx context.Context, d domain.Document) (bool, error)
	// DeleteDocument turns the document into a tombstone at version and
	// removes its chunks; a tombstone is created if none exists.
	DeleteDocument(ctx context.Context, resourceID string, version int64) (bool, error)
	// ReplaceChunks replaces every chunk of the set's source unless the
	// stored source is newer, the source (file) was deleted, or the
	// document is deleted. An unknown document gets a placeholder that only
	// admins can see until its resource event arrives.
	ReplaceChunks(ctx context.Context, set domain.ChunkSet) (bool, error)
	// DeleteSource removes a file's chunks and remembers the file as
	// deleted, so a late chunk set for it is ignored.
	DeleteSource(ctx context.Context, resourceID, fileID string) (bool, error)
	// Document returns one document (tombstones included), or a fault.NotFound error.
	Document(ctx context.Context, resourceID string) (domain.Document, error)
	// Chunks returns a document's chunks with their vectors.
	Chunks(ctx context.Context, resourceID string) ([]domain.Chunk, error)
	// Indexed returns, for each of want in that order, what the indexes
	// hold of it: the document and, unless it is deleted, the chunks of
	// the sources it names (of every source when it names none), with
	// Sources set to those it names. An id the store does not know comes
	// back as a deleted document. It reads any number of documents in a
	// few queries, where Document and Chunks would take two each.
	Indexed(ctx context.Context, want []domain.Refresh) ([]domain.Indexed, error)
	// Documents pages through live documents in resource id order, after
	// the given id ("" for the first page).
	Documents(ctx context.Context, after string, limit int) ([]domain.Document, error)
	// Together runs fn with a store whose changes are kept, all of them,
	// only when fn returns nil: many changes for the cost of one
	// transaction. Either every change fn made is kept or none is.
	Together(ctx context.Context, fn func(SearchStore) error) error
}

// TextIndex is the full-text ranker.
type TextIndex interface {
	// Replace indexes documents' chunks, replacing what was indexed for
	// each: everything, or only the chunks of the sources it names
	// (domain.Indexed.Sources); a deleted document, or one left without
	// chunks, is removed. Many documents at once make one batch (a
	// rebuild), which is much faster than one batch each.
	Replace(ctx context.Context, docs []domain.Indexed) error
	// Search returns up to k chunks matching text that the caller may
	// read and that pass the filters, best first. Visibility is part of the
	// query, so hidden documents are never counted.
	Search(ctx context.Context, c domain.Caller, text string, f domain.Filters, k int) ([]domain.Ranked, error)
	// Highlights returns, for those of chunkIDs that match text, fragments
	// with the matching terms marked; it runs on a page of results only,
	// since highlighting every candidate would cost more than ranking.
	Highlights(ctx context.Context, text string, chunkIDs []string) (map[string][]string, error)
	// Count is the number of chunks indexed.
	Count() (uint64, error)
}

// VectorIndex is the nearest-neighbour ranker; vectors of different
// models live apart and are never compared.
type VectorIndex interface {
	// Replace sets a document's chunks, replacing the earlier ones of
	// every source or of the sources it names (domain.Indexed.Sources).
	Replace(in domain.Indexed)
	// Search returns the k chunks of model nearest to vector (by cosine)
	// among those whose document allow accepts.
	Search(model string, vector []float32, allow func(resourceID string) bool, k int) []domain.Ranked
	// Counts is the number of vectors per model.
	Counts() map[string]int
}
