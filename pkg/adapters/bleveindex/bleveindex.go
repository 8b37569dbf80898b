// Package bleveindex is the search service's full-text ranker on bleve
// (scorch, BM25): one bleve document per chunk, carrying its document's
// owner, visibility, tags, metadata and update time so that visibility and
// filters are part of the query, not applied afterwards.
package bleveindex

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/highlight/highlighter/html"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
	zapx "github.com/blevesearch/zapx/v17"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// Index is the bleve app.TextIndex.
type Index struct {
	idx   bleve.Index
	pacer *pacer
	mu    sync.Mutex                // serialises Replace, which reads and writes res
	res   map[string][]indexedChunk // resource id → its indexed chunks
}

// indexedChunk is a chunk in the index and the source it came from.
type indexedChunk struct{ id, file string }

var _ app.TextIndex = (*Index)(nil)

// chunkDoc is what bleve indexes for a chunk.
type chunkDoc struct {
	Text       string   `json:"text"`
	Resource   string   `json:"resource"`
	Owner      string   `json:"owner"`
	Visibility string   `json:"visibility"`
	Tags       []string `json:"tags"`
	Meta       []string `json:"meta"` // "key=value"
	Updated    string   `json:"updated"`
}

func indexMapping(p *pacer) (mapping.IndexMapping, error) {
	// Queries name their fields and never sort or facet, so no field goes
	// into the composite _all field or keeps doc values: either would
	// index every chunk's terms a second time. The text is stored, with
	// term vectors, for highlights.
	keyword := bleve.NewKeywordFieldMapping()
	keyword.Store, keyword.IncludeInAll, keyword.DocValues = false, false, false
	text := bleve.NewTextFieldMapping()
	text.Analyzer, text.Store, text.IncludeTermVectors = textAnalyzer, true, true
	text.IncludeInAll, text.DocValues = false, false
	updated := bleve.NewDateTimeFieldMapping()
	updated.Store, updated.IncludeInAll, updated.DocValues = false, false, false
	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt("text", text)
	for _, f := range []string{"resource", "owner", "visibility", "tags", "meta"} {
		doc.AddFieldMappingsAt(f, keyword)
	}
	doc.AddFieldMappingsAt("updated", updated)
	m := bleve.NewIndexMapping()
	if err := m.AddCustomAnalyzer(textAnalyzer, map[string]any{"type": pacedAnalyzerType, "pacer": p}); err != nil {
		return nil, err
	}
	m.DefaultMapping = doc
	m.ScoringModel = index.BM25Scoring
	m.DefaultAnalyzer = en.AnalyzerName
	return m, nil
}

// segmentFloor is the merge planner's floor, in documents: smaller
// segments are planned as if they had this many. Search writes one small
// batch an event, and with bleve's default floor (2,000) every segment of
// an index under 2,000 chunks sits in one tier, so each merge rewrites the
// largest segment together with nine one-document ones, again and again:
// 20 ms of CPU a one-document batch on an index of 1,000 chunks
// (BenchmarkReplace). With 10, small segments merge among themselves
// first and a chunk is rewritten about once a tenfold growth, as in an
// LSM tree.
const segmentFloor = 10

// persisterNap is how long scorch's persister waits after writing before
// it looks for new segments. Batches that arrive meanwhile stay searchable
// in memory and are merged and written as one. Without the nap, a lone
// event's segment is written on its own: a file, a bolt snapshot with an
// fdatasync, a read of the directory and a removal of what it replaces,
// 7 % of the platform's CPU in the create journey. With it, paced
// one-document batches cost a tenth to a fifth less CPU, persister and
// merger included, at about five more in-memory segments for a query to
// visit (BenchmarkReplacePaced, ADR 0057).
const persisterNap = 100 * time.Millisecond

// persisterOptions are scorch's persister options for a nap.
func persisterOptions(nap time.Duration) map[string]any {
	return map[string]any{"PersisterNapTimeMSec": nap.Milliseconds()}
}

// scorchConfig is the index's scorch configuration; floor 0 keeps bleve's
// default merge plan (for the benchmark's comparison).
//
// A batch returns once its segment is searchable, without waiting for
// scorch to write it to disk (unsafe_batch): the index is rebuilt from the
// store on every start, so what is on disk never has to survive a crash.
// Scorch still persists and merges in the background, and batches that
// arrive while it writes or naps are merged in memory and written
// together: a one-document batch costs a quarter less CPU and half the
// time (BenchmarkReplace, ADR 0037).
func scorchConfig(floor int) map[string]any {
	cfg := map[string]any{"unsafe_batch": true, "scorchPersisterOptions": persisterOptions(persisterNap)}
	if floor > 0 {
		cfg["scorchMergePlanOptions"] = map[string]any{"FloorSegmentSize": floor}
	}
	return cfg
}

// The buffer of a new segment is sized from the last one zap built, for
// len(batch)+NewSegmentBufferNumResultsBump documents: 101 times the size
// of a one-document segment, a megabyte or two allocated and cleared for
// every event (a third of the CPU of indexing single documents). Search's
// batches are mostly one document, so the buffer grows as it is written
// instead. This is zap's tuning knob for the process; only this package
// uses bleve.
func init() { zapx.NewSegmentBufferNumResultsBump = 0 }

// New creates an empty index in dir, removing whatever an earlier process
// left there: the index is rebuilt from the store on every start. While
// busy reports true (the priority gate's Busy), a batch's documents are
// analysed one at a time; a nil busy analyses them on all of bleve's
// workers always.
func New(dir string, busy func() bool) (*Index, error) {
	return newIndex(dir, scorchConfig(segmentFloor), &pacer{busy: busy})
}

func newIndex(dir string, cfg map[string]any, p *pacer) (*Index, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	m, err := indexMapping(p)
	if err != nil {
		return nil, fmt.Errorf("bleve: %w", err)
	}
	idx, err := bleve.NewUsing(dir, m, scorch.Name, bleve.Config.DefaultKVStore, cfg)
	if err != nil {
		return nil, fmt.Errorf("bleve: %w", err)
	}
	return &Index{idx: idx, pacer: p, res: map[string][]indexedChunk{}}, nil
}

// Close releases the index.
func (x *Index) Close() error { return x.idx.Close() }

// Replace re-indexes documents' chunks in one batch.
func (x *Index) Replace(_ context.Context, docs []domain.Indexed) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.idx.NewBatch()
	ids := make(map[string][]indexedChunk, len(docs))
	for _, in := range docs {
		d := in.Document
		kept := ids[d.ResourceID]
		if _, seen := ids[d.ResourceID]; !seen {
			kept = x.res[d.ResourceID]
		}
		var left []indexedChunk
		for _, c := range kept {
			if in.Replaces(c.file) {
				b.Delete(c.id)
			} else {
				left = append(left, c)
			}
		}
		ids[d.ResourceID] = left
		if d.Deleted {
			continue
		}
		meta := make([]string, 0, len(d.Metadata))
		for k, v := range d.Metadata {
			meta = append(meta, k+"="+v)
		}
		updated := d.UpdatedAt.UTC().Format(time.RFC3339Nano)
		for _, c := range in.Chunks {
			if err := b.Index(c.ID, chunkDoc{Text: c.Text, Resource: d.ResourceID, Owner: d.OwnerID, Visibility: d.Visibility,
				Tags: d.Tags, Meta: meta, Updated: updated}); err != nil {
				return err
			}
			ids[d.ResourceID] = append(ids[d.ResourceID], indexedChunk{id: c.ID, file: c.FileID})
		}
	}
	if err := x.idx.Batch(b); err != nil {
		return fault.Wrap(fault.Unavailable, "the text index could not be updated", err)
	}
	for res, list := range ids {
		if len(list) == 0 {
			delete(x.res, res)
		} else {
			x.res[res] = list
		}
	}
	return nil
}

func term(field, value string) query.Query {
	q := bleve.NewTermQuery(value)
	q.SetField(field)
	return q
}

// visibilityFilter admits what c may read (mirrors domain.Caller.CanRead);
// nil means everything.
func visibilityFilter(c domain.Caller) query.Query {
	if c.Admin() {
		return nil
	}
	allowed := []query.Query{term("visibility", domain.Public)}
	if c.Reader() {
		allowed = append(allowed, term("visibility", domain.Internal), term("owner", c.Subject))
	}
	return bleve.NewDisjunctionQuery(allowed...)
}

func filterQuery(c domain.Caller, f domain.Filters) query.Query {
	var all []query.Query
	if v := visibilityFilter(c); v != nil {
		all = append(all, v)
	}
	if f.Owner != "" {
		all = append(all, term("owner", f.Owner))
	}
	for _, t := range f.Tags {
		all = append(all, term("tags", t))
	}
	for k, v := range f.Metadata {
		all = append(all, term("meta", k+"="+v))
	}
	if len(f.ResourceIDs) > 0 {
		any := make([]query.Query, len(f.ResourceIDs))
		for i, id := range f.ResourceIDs {
			any[i] = term("resource", id)
		}
		all = append(all, bleve.NewDisjunctionQuery(any...))
	}
	if !f.UpdatedSince.IsZero() {
		inclusive := true
		q := bleve.NewDateRangeInclusiveQuery(f.UpdatedSince, time.Time{}, &inclusive, nil) // no end
		q.SetField("updated")
		all = append(all, q)
	}
	if len(all) == 0 {
		return nil
	}
	return bleve.NewConjunctionQuery(all...)
}

// Search ranks chunks by BM25 over their text, restricted to what the
// caller may read and the filters admit.
func (x *Index) Search(ctx context.Context, c domain.Caller, text string, f domain.Filters, k int) ([]domain.Ranked, error) {
	match := bleve.NewMatchQuery(text)
	match.SetField("text")
	match.Analyzer = en.AnalyzerName // the same tokens, and never the pacer's turn
	q := bleve.NewBooleanQuery()
	q.AddMust(match)
	if fq := filterQuery(c, f); fq != nil {
		q.AddFilter(fq)
	}
	res, err := x.idx.SearchInContext(ctx, bleve.NewSearchRequestOptions(q, k, 0, false))
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "the text index could not be searched", err)
	}
	out := make([]domain.Ranked, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = domain.Ranked{ChunkID: h.ID, Score: h.Score}
	}
	return out, nil
}

// Highlights marks the query's terms in the given chunks with <mark>.
func (x *Index) Highlights(ctx context.Context, text string, chunkIDs []string) (map[string][]string, error) {
	if len(chunkIDs) == 0 {
		return map[string][]string{}, nil
	}
	match := bleve.NewMatchQuery(text)
	match.SetField("text")
	match.Analyzer = en.AnalyzerName // the same tokens, and never the pacer's turn
	// A conjunction, not a filter: bleve checks a filter against every
	// chunk the words match, which for a common word is thousands to mark
	// a page of hits, while a conjunction walks from the few ids and
	// skips ahead in the words' postings.
	q := bleve.NewConjunctionQuery(bleve.NewDocIDQuery(chunkIDs), match)
	req := bleve.NewSearchRequestOptions(q, len(chunkIDs), 0, false)
	req.Highlight = bleve.NewHighlightWithStyle(html.Name)
	req.Highlight.AddField("text")
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "the text index could not be searched", err)
	}
	out := make(map[string][]string, len(res.Hits))
	for _, h := range res.Hits {
		out[h.ID] = h.Fragments["text"]
	}
	return out, nil
}

// Count is the number of chunks indexed.
func (x *Index) Count() (uint64, error) { return x.idx.DocCount() }
