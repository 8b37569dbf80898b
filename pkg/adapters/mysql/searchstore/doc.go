// Package searchstore is the search service's MySQL-protocol store, its
// source of truth: documents (with tombstones), chunk sets and their
// vectors, over sqlc-generated queries (in internal/searchdb). The indexes
// are rebuilt from it.
package searchstore
