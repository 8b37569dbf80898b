// Package domain holds the search service's rules: what a searchable
// document and chunk are, who may see a document, how filters match, and
// how text and vector rankings are fused. It imports only the standard
// library and pkg/fault.
package domain

import (
	"slices"
	"time"

	"github.com/lattice-platform/lattice/pkg/access"
	"github.com/lattice-platform/lattice/pkg/fault"
)

// Visibility values, as the resource service defines them.
const (
	Private  = access.Private
	Internal = access.Internal
	Public   = access.Public
)

// Scopes the search service checks.
const (
	ScopeSearchRead     = access.SearchRead
	ScopeResourcesRead  = access.ResourcesRead
	ScopeResourcesAdmin = access.ResourcesAdmin
)

// ErrNoSearchScope refuses a credential that was not granted search.
var ErrNoSearchScope = fault.New(fault.Forbidden, "this credential lacks the "+ScopeSearchRead+" scope")

// Document is what search knows of a resource: enough to filter and to
// decide visibility. Deleted documents are kept as tombstones so that late
// events cannot bring them back.
type Document struct {
	ResourceID string
	OwnerID    string
	Title      string
	Visibility string
	Tags       []string
	Metadata   map[string]string
	Version    int64
	UpdatedAt  time.Time
	Deleted    bool
}

// Known reports whether a resource event has described the document (a
// chunk set can arrive first; until then nobody but an admin sees it).
func (d Document) Known() bool { return d.Version > 0 }

// Chunk is a searchable piece of a resource's body (FileID "") or of one
// of its files.
type Chunk struct {
	ID         string
	ResourceID string
	FileID     string
	Index      int
	Text       string
	Model      string
	Vector     []float32
}

// Indexed is what the indexes hold of a document: the document, and the
// chunks of every source it has (Sources nil) or of the named sources only.
// A resource's sources are its body ("") and its files (their ids).
type Indexed struct {
	Document Document
	Chunks   []Chunk
	// Sources, when not nil, says that Chunks holds the chunks of these
	// sources only: an index replaces those and keeps the chunks it
	// holds of the resource's other sources. A deleted document always
	// comes whole (nil), and leaves with everything it had.
	Sources []string
}

// Whole reports whether in replaces everything of its document.
func (in Indexed) Whole() bool { return in.Sources == nil || in.Document.Deleted }

// Replaces reports whether in replaces the chunks of source fileID.
func (in Indexed) Replaces(fileID string) bool {
	return in.Whole() || slices.Contains(in.Sources, fileID)
}

// Refresh names what the indexes re-read of one resource after changes
// to it: its document, and the chunks of every source (Sources nil) or of
// the named sources only. A new file's chunks are then read and indexed
// alone, not with every other file of the resource again.
type Refresh struct {
	ResourceID string
	Sources    []string
}

// ChunkSet replaces every chunk of one source (a resource body or file).
type ChunkSet struct {
	ResourceID string
	FileID     string
	Version    int64
	Model      string
	Dimensions int
	Chunks     []Chunk
}

// Caller is who a search acts for; the zero Caller is anonymous.
type Caller struct {
	Subject string
	Scopes  []string
}

// shared is c as the platform-wide caller, whose rules search shares with
// the resource service.
func (c Caller) shared() access.Caller { return access.Caller{Subject: c.Subject, Scopes: c.Scopes} }

// Admin reports whether the caller sees everything.
func (c Caller) Admin() bool { return c.shared().Admin() }

// CanRead applies the resource service's rule (access.Caller.CanSee):
// public documents to anyone, internal ones to any caller with
// resources:read, private ones to their owner, everything to an admin. A
// deleted document is visible to nobody, and one no resource event has
// described yet (its chunks came first) only to an admin.
func (c Caller) CanRead(d Document) bool {
	switch {
	case d.Deleted:
		return false
	case !d.Known():
		return c.Admin()
	}
	return c.shared().CanSee(d.OwnerID, d.Visibility)
}

// MaySearch checks that a caller may search at all: anonymous callers may
// (they see public documents only); a credential must carry search:read,
// so a token or API key minted without it cannot query the index.
func (c Caller) MaySearch() error {
	if c.Subject == "" || slices.Contains(c.Scopes, ScopeSearchRead) {
		return nil
	}
	return ErrNoSearchScope
}

// Reader reports whether the caller may read beyond public documents:
// internal ones, and private ones they own.
func (c Caller) Reader() bool {
	return !c.shared().Anonymous() && c.shared().Has(ScopeResourcesRead)
}

// Filters narrow a search; empty fields match everything.
type Filters struct {
	Owner        string
	Tags         []string          // every tag must be present
	Metadata     map[string]string // every pair must be present
	ResourceIDs  []string          // any of these
	UpdatedSince time.Time
}

// Matches reports whether d passes the filters.
func (f Filters) Matches(d Document) bool {
	if f.Owner != "" && d.OwnerID != f.Owner {
		return false
	}
	for _, t := range f.Tags {
		if !slices.Contains(d.Tags, t) {
			return false
		}
	}
	for k, v := range f.Metadata {
		if got, ok := d.Metadata[k]; !ok || got != v {
			return false
		}
	}
	if len(f.ResourceIDs) > 0 && !slices.Contains(f.ResourceIDs, d.ResourceID) {
		return false
	}
	return f.UpdatedSince.IsZero() || !d.UpdatedAt.Before(f.UpdatedSince)
}

// Mode selects the rankers a search uses.
type Mode string

// The modes.
const (
	ModeText   Mode = "text"
	ModeVector Mode = "vector"
	ModeHybrid Mode = "hybrid"
)

// Query is a search request after parsing.
type Query struct {
	Text    string
	Mode    Mode
	Weight  float64 // the text ranking's share in hybrid fusion, 0–1
	Filters Filters
	Limit   int
	Offset  int
}

// MaxDepth bounds how deep results can be paged: offset plus limit.
const MaxDepth = 1000

// Validate checks a query's parts.
func (q Query) Validate() error {
	switch {
	case q.Text == "":
		return fault.InvalidField("query", "must not be empty")
	case q.Mode != ModeText && q.Mode != ModeVector && q.Mode != ModeHybrid:
		return fault.InvalidField("mode", "must be text, vector or hybrid")
	case q.Weight < 0 || q.Weight > 1:
		return fault.InvalidField("weight", "must be between 0 and 1")
	case q.Limit < 1 || q.Limit > 100:
		return fault.InvalidField("limit", "must be between 1 and 100")
	case q.Offset < 0 || q.Offset+q.Limit > MaxDepth:
		return fault.InvalidField("cursor", "results can be paged only 1000 deep")
	}
	return nil
}

// Ranked is one ranker's result: a chunk with its score.
type Ranked struct {
	ChunkID    string
	Score      float64
	Highlights []string
}

// Fused is a chunk's place in the fused ranking; ranks are 1-based, 0
// when the ranker did not return the chunk.
type Fused struct {
	ChunkID    string
	Score      float64
	TextRank   int
	VectorRank int
	TextScore  float64
	Highlights []string
}

// RRFK is reciprocal rank fusion's constant: it damps the difference
// between the top ranks (60 in Cormack et al., and in most engines).
const RRFK = 60

// Fuse combines the text and vector rankings by weighted reciprocal rank
// fusion: score = w/(k+rank_text) + (1−w)/(k+rank_vector), ties broken by
// chunk id so pages are stable.
func Fuse(text, vector []Ranked, weight float64) []Fused {
	out := make([]Fused, 0, len(text)+len(vector))
	index := make(map[string]int, len(text)+len(vector))
	// get returns the chunk's entry; the pointer is used before the next
	// append can move the slice.
	get := func(id string) *Fused {
		if i, ok := index[id]; ok {
			return &out[i]
		}
		index[id] = len(out)
		out = append(out, Fused{ChunkID: id})
		return &out[len(out)-1]
	}
	for i, r := range text {
		f := get(r.ChunkID)
		f.TextRank, f.TextScore, f.Highlights = i+1, r.Score, r.Highlights
		f.Score += weight / float64(RRFK+i+1)
	}
	for i, r := range vector {
		f := get(r.ChunkID)
		f.VectorRank = i + 1
		f.Score += (1 - weight) / float64(RRFK+i+1)
	}
	slices.SortStableFunc(out, func(a, b Fused) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		case a.ChunkID < b.ChunkID:
			return -1
		case a.ChunkID > b.ChunkID:
			return 1
		}
		return 0
	})
	return out
}
