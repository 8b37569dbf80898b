// Package eventsapi is the search service's event edge: it turns the
// CloudEvents search consumes (resource changes, deleted files, ready chunk
// sets) into typed payloads and calls the use cases, as httpapi does for
// requests. The subscription itself is wiring (searchsvc).
package eventsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/lattice-platform/lattice/pkg/events"
	eventschema "github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/priority"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// ChunkSets fetches the chunk set a chunks.ready event points at when it
// is too large to travel in the event: the event is then a claim check,
// and the vectors travel apart (docs/adr/0009, 0054).
type ChunkSets interface {
	Fetch(ctx context.Context, ref eventschema.ObjectRef) (eventschema.ChunkSet, error)
}

// Handler applies events to the search use cases.
type Handler struct {
	app  *app.Service
	sets ChunkSets
	log  *slog.Logger
}

// New returns a Handler calling a, fetching chunk sets from sets.
func New(a *app.Service, sets ChunkSets, log *slog.Logger) *Handler {
	return &Handler{app: a, sets: sets, log: log}
}

// Subjects are the events search applies.
var Subjects = []string{"events.resource.created", "events.resource.updated", "events.resource.deleted",
	"events.file.deleted", "events.chunks.ready"}

// Handle applies one event. An event that is not a CloudEvent, or whose
// payload cannot be applied, is logged and acknowledged: redelivering it
// cannot help.
func (h *Handler) Handle(ctx context.Context, e ports.Event) error {
	return h.HandleGroup(ctx, []ports.Event{e})[0]
}

// partChunks bounds the chunks of one part of a group, which HandleGroup
// applies with one transaction and one index update: the chunk sets of a
// backlog of uploads (hundreds of chunks each, with their vectors) are
// applied one or two at a time, not all held at once, and requests get
// their turn between parts (priority.Next), as they did between events.
// A backlog of created resources (a chunk or a document each) still goes
// in parts of a hundred events.
const partChunks = 500

// HandleGroup applies events in their order, with one store transaction
// and one update of the indexes per group, or per part of a group of
// large chunk sets (partChunks), rather than one per event (app.Apply), and
// answers for each: errs[i] is nil once events[i] is applied or can never
// be.
func (h *Handler) HandleGroup(ctx context.Context, events []ports.Event) (errs []error) {
	errs = make([]error, len(events))
	var (
		changes []app.Change
		from    []int // the event of each change
		chunks  int
	)
	apply := func() {
		for j, err := range h.app.Apply(ctx, changes) {
			errs[from[j]] = h.settle(ctx, events[from[j]], err)
		}
		changes, from, chunks = changes[:0], from[:0], 0
	}
	for i, e := range events {
		c, n, err := h.change(ctx, e)
		if err != nil || c == nil {
			errs[i] = h.settle(ctx, e, err)
			continue
		}
		if len(changes) > 0 && chunks+n > partChunks {
			apply()
			priority.Next(ctx)
		}
		changes, from, chunks = append(changes, *c), append(from, i), chunks+n
	}
	if len(changes) > 0 {
		apply()
	}
	return errs
}

// settle is an event's outcome: an event that cannot be applied, ever,
// is logged and counts as done; any other error sends it round again.
func (h *Handler) settle(ctx context.Context, e ports.Event, err error) error {
	if fault.Of(err, fault.Invalid) || fault.Of(err, fault.NotFound) {
		h.log.WarnContext(ctx, "event cannot be applied; skipped", "event", e.ID, "subject", e.Subject, "error", err)
		return nil
	}
	return err
}

// change is what e asks of search, with the chunks it carries; nil for an
// event of a type search does not apply.
func (h *Handler) change(ctx context.Context, e ports.Event) (*app.Change, int, error) {
	env, err := events.Decode(e.Payload)
	if err != nil {
		return nil, 0, fault.Wrap(fault.Invalid, "not a CloudEvent", err)
	}
	id, typ, data := env.ID, env.Type, env.Data
	bad := func(err error) error { return fault.Wrap(fault.Invalid, "malformed "+typ+" payload", err) }
	var c app.Change
	switch typ {
	case "resource.created":
		var d eventschema.ResourceCreated
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, 0, bad(err)
		}
		c = app.DocumentPut(id, documentOf(eventschema.ResourceState(d)))
	case "resource.updated":
		var d eventschema.ResourceUpdated
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, 0, bad(err)
		}
		c = app.DocumentPut(id, documentOf(d.Resource))
	case "resource.deleted":
		var d eventschema.ResourceDeleted
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, 0, bad(err)
		}
		c = app.DocumentDeleted(id, d.Id, d.Version)
	case "file.deleted":
		var d eventschema.FileDeleted
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, 0, bad(err)
		}
		c = app.FileDeleted(id, d.ResourceId, d.Id)
	case "chunks.ready":
		var d eventschema.ChunksReady
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, 0, bad(err)
		}
		set, err := h.chunkSet(ctx, d)
		if err != nil {
			return nil, 0, err
		}
		cs := domain.ChunkSet{ResourceID: d.ResourceId, Version: d.Version, Model: d.Model, Dimensions: d.Dimensions}
		if d.FileId != nil {
			cs.FileID = *d.FileId
		}
		for _, c := range set.Chunks {
			vec, err := events.DecodeVector(c.Vector)
			if err != nil {
				return nil, 0, bad(err)
			}
			cs.Chunks = append(cs.Chunks, domain.Chunk{ID: c.Id, ResourceID: cs.ResourceID, FileID: cs.FileID, Index: c.Index,
				Text: c.Text, Model: d.Model, Vector: vec})
		}
		c = app.ChunksReady(id, cs)
		return &c, len(cs.Chunks), nil
	default:
		return nil, 0, nil
	}
	return &c, 1, nil
}

// chunkSet is the set a chunks.ready event carries or names: exactly one
// of the two, holding as many chunks as the event counts.
func (h *Handler) chunkSet(ctx context.Context, d eventschema.ChunksReady) (eventschema.ChunkSet, error) {
	var set eventschema.ChunkSet
	switch {
	case d.Chunks != nil && d.Object == nil:
		set.Chunks = *d.Chunks
	case d.Object != nil && d.Chunks == nil:
		var err error
		if set, err = h.sets.Fetch(ctx, *d.Object); err != nil {
			return set, err
		}
	default:
		return set, fault.New(fault.Invalid, "malformed chunks.ready payload: exactly one of chunks and object must be present")
	}
	if len(set.Chunks) != d.ChunkCount {
		return set, fault.New(fault.Invalid, fmt.Sprintf("malformed chunks.ready payload: chunk_count is %d, the set holds %d", d.ChunkCount, len(set.Chunks)))
	}
	return set, nil
}

func documentOf(r eventschema.ResourceState) domain.Document {
	return domain.Document{ResourceID: r.Id, OwnerID: r.OwnerId, Title: r.Title, Visibility: string(r.Visibility),
		Tags: r.Tags, Metadata: r.Metadata, Version: r.Version, UpdatedAt: r.UpdatedAt}
}
