// Package eventsapi is the search service's event edge: it turns the
// CloudEvents search consumes (resource changes, deleted files, ready chunk
// sets) into typed payloads and calls the use cases, as httpapi does for
// requests. The subscription itself is wiring (searchsvc).
package eventsapi

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/lattice-platform/lattice/pkg/events"
	eventschema "github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// ChunkSets fetches the chunk set a chunks.ready event points at: the
// event is a claim check, the vectors travel apart (docs/adr/0009).
type ChunkSets interface {
	Fetch(ctx context.Context, ref eventschema.ChunksReady) (eventschema.ChunkSet, error)
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
	env, err := events.Decode(e.Payload)
	if err != nil {
		h.log.WarnContext(ctx, "ignoring a malformed event", "event", e.ID)
		return nil // retrying cannot fix it
	}
	err = h.apply(ctx, env.ID, env.Type, env.Data)
	if fault.Of(err, fault.Invalid) || fault.Of(err, fault.NotFound) {
		h.log.WarnContext(ctx, "event cannot be applied; skipped", "event", env.ID, "type", env.Type, "error", err)
		return nil
	}
	return err
}

func (h *Handler) apply(ctx context.Context, id, typ string, data json.RawMessage) error {
	bad := func(err error) error { return fault.Wrap(fault.Invalid, "malformed "+typ+" payload", err) }
	switch typ {
	case "resource.created":
		var d eventschema.ResourceCreated
		if err := json.Unmarshal(data, &d); err != nil {
			return bad(err)
		}
		return h.app.PutDocument(ctx, id, documentOf(eventschema.ResourceState(d)))
	case "resource.updated":
		var d eventschema.ResourceUpdated
		if err := json.Unmarshal(data, &d); err != nil {
			return bad(err)
		}
		return h.app.PutDocument(ctx, id, documentOf(d.Resource))
	case "resource.deleted":
		var d eventschema.ResourceDeleted
		if err := json.Unmarshal(data, &d); err != nil {
			return bad(err)
		}
		return h.app.DeleteDocument(ctx, id, d.Id, d.Version)
	case "file.deleted":
		var d eventschema.FileDeleted
		if err := json.Unmarshal(data, &d); err != nil {
			return bad(err)
		}
		return h.app.DeleteFile(ctx, id, d.ResourceId, d.Id)
	case "chunks.ready":
		var d eventschema.ChunksReady
		if err := json.Unmarshal(data, &d); err != nil {
			return bad(err)
		}
		set, err := h.sets.Fetch(ctx, d)
		if err != nil {
			return err
		}
		cs := domain.ChunkSet{ResourceID: d.ResourceId, Version: d.Version, Model: d.Model, Dimensions: d.Dimensions}
		if d.FileId != nil {
			cs.FileID = *d.FileId
		}
		for _, c := range set.Chunks {
			vec, err := events.DecodeVector(c.Vector)
			if err != nil {
				return bad(err)
			}
			cs.Chunks = append(cs.Chunks, domain.Chunk{ID: c.Id, ResourceID: cs.ResourceID, FileID: cs.FileID, Index: c.Index,
				Text: c.Text, Model: d.Model, Vector: vec})
		}
		return h.app.PutChunks(ctx, id, cs)
	}
	return nil
}

func documentOf(r eventschema.ResourceState) domain.Document {
	return domain.Document{ResourceID: r.Id, OwnerID: r.OwnerId, Title: r.Title, Visibility: string(r.Visibility),
		Tags: r.Tags, Metadata: r.Metadata, Version: r.Version, UpdatedAt: r.UpdatedAt}
}
