// Package eventsapi is the resource service's event edge: it turns the
// CloudEvents other services send it (file.rejected, from processing) into
// use-case calls, as httpapi does for requests. The subscription itself is
// wiring (resourcesvc).
package eventsapi

import (
	"context"
	"log/slog"

	"github.com/lattice-platform/lattice/pkg/events"
	eventschema "github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/resource/app"
)

// Handler hands events to the resource use cases.
type Handler struct {
	app *app.Service
	log *slog.Logger
}

// New returns a Handler calling a.
func New(a *app.Service, log *slog.Logger) *Handler { return &Handler{app: a, log: log} }

// FileRejected marks a file rejected when processing reports it could not
// read it; a malformed event is logged and acknowledged.
func (h *Handler) FileRejected(ctx context.Context, e ports.Event) error {
	_, data, err := events.DecodeAs[eventschema.FileRejected](e)
	if err != nil || data.FileId == "" {
		h.log.WarnContext(ctx, "ignoring a malformed file.rejected event", "event", e.ID)
		return nil // retrying cannot fix it
	}
	return h.app.RejectFile(ctx, data.ResourceId, data.FileId, data.Reason)
}
