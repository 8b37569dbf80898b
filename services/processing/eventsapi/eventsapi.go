// Package eventsapi is the processing service's event edge: it turns the
// resource events that start work (created, updated, file uploaded) into
// the intake use case's input, as httpapi does for requests. The
// subscription itself is wiring (processingsvc).
package eventsapi

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/lattice-platform/lattice/pkg/events"
	eventschema "github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/processing/app"
)

// Subjects are the events processing takes in.
var Subjects = []string{"events.resource.created", "events.resource.updated", "events.file.uploaded"}

// Handler hands events to the processing use cases.
type Handler struct {
	app *app.Service
	log *slog.Logger
}

// New returns a Handler calling a.
func New(a *app.Service, log *slog.Logger) *Handler { return &Handler{app: a, log: log} }

// Intake turns one resource event into a queued job. An event that is not
// one of Subjects' CloudEvents is logged and acknowledged: redelivering it
// cannot help.
func (h *Handler) Intake(ctx context.Context, e ports.Event) error {
	env, err := events.Decode(e.Payload)
	if err != nil {
		h.log.WarnContext(ctx, "ignoring a malformed event", "event", e.ID)
		return nil // retrying cannot fix it
	}
	ev := app.Event{ID: env.ID, Type: env.Type}
	switch env.Type {
	case "resource.created":
		var d eventschema.ResourceCreated
		err = json.Unmarshal(env.Data, &d)
		ev.ResourceID, ev.Version = d.Id, d.Version
	case "resource.updated":
		var d eventschema.ResourceUpdated
		err = json.Unmarshal(env.Data, &d)
		ev.ResourceID, ev.Version = d.Resource.Id, d.Resource.Version
		for _, c := range d.Changed {
			ev.Changed = append(ev.Changed, string(c))
		}
	case "file.uploaded":
		var d eventschema.FileUploaded
		err = json.Unmarshal(env.Data, &d)
		ev.ResourceID, ev.FileID = d.ResourceId, d.Id
	}
	if err != nil || ev.ResourceID == "" {
		h.log.WarnContext(ctx, "ignoring a malformed event", "event", e.ID, "type", env.Type)
		return nil
	}
	j, ok, err := h.app.Intake(ctx, ev)
	if ok {
		h.log.InfoContext(ctx, "job queued", "job", j.ID, "kind", j.Kind, "resource", j.ResourceID)
	}
	return err
}
