// Package eventsapi is the analytics service's event edge: it turns
// batches of usage and audit CloudEvents into the ingest and append use
// cases' inputs, as httpapi does for requests. The subscriptions
// themselves are wiring (analyticssvc).
package eventsapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/lattice-platform/lattice/pkg/events"
	eventschema "github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// Handler hands event batches to the analytics use cases.
type Handler struct {
	app *app.Service
	log *slog.Logger
	// Ingested, when set, is told after each stored batch the time of its
	// oldest event, by stream (USAGE, AUDIT): the ingest lag's metric.
	Ingested func(stream string, oldest time.Time)
}

// ingested reports, for stream, the oldest time of the stored items.
func ingested[T any](h *Handler, stream string, items []T, timeOf func(T) time.Time) {
	if h.Ingested == nil || len(items) == 0 {
		return
	}
	oldest := timeOf(items[0])
	for _, it := range items[1:] {
		if t := timeOf(it); t.Before(oldest) {
			oldest = t
		}
	}
	h.Ingested(stream, oldest)
}

// New returns a Handler calling a.
func New(a *app.Service, log *slog.Logger) *Handler { return &Handler{app: a, log: log} }

// Usage stores a batch of gateway.request events; malformed ones are
// logged and left out.
func (h *Handler) Usage(ctx context.Context, batch []ports.Event) error {
	records := make([]domain.UsageRecord, 0, len(batch))
	for _, e := range batch {
		_, r, err := events.DecodeAs[eventschema.UsageRecord](e)
		if err != nil || r.RequestId == "" {
			h.log.WarnContext(ctx, "ignoring a malformed usage record", "event", e.ID)
			continue
		}
		rec := domain.UsageRecord{RequestID: r.RequestId, Route: r.Route, Method: r.Method, Path: r.Path, Status: r.Status,
			LatencyMS: r.LatencyMs, BytesIn: r.BytesIn, BytesOut: r.BytesOut, Time: r.Time}
		if r.Identity != nil {
			rec.Identity = *r.Identity
		}
		if r.ClientId != nil {
			rec.ClientID = *r.ClientId
		}
		records = append(records, rec)
	}
	if _, err := h.app.IngestUsage(ctx, records); err != nil {
		return err
	}
	ingested(h, "USAGE", records, func(r domain.UsageRecord) time.Time { return r.Time })
	return nil
}

// Audit records a batch of audit events, in stream order; malformed ones
// are logged and left out.
func (h *Handler) Audit(ctx context.Context, batch []ports.Event) error {
	inputs := make([]app.AuditInput, 0, len(batch))
	for _, e := range batch {
		env, r, err := events.DecodeAs[eventschema.AuditRecord](e)
		if err != nil || r.Action == "" {
			h.log.WarnContext(ctx, "ignoring a malformed audit event", "event", e.ID)
			continue
		}
		in := app.AuditInput{ID: env.ID, Time: env.Time, Actor: r.Actor, Action: r.Action, Target: r.Target, Source: env.Source}
		if r.Details != nil {
			in.Data = *r.Details
		}
		inputs = append(inputs, in)
	}
	if _, err := h.app.AppendAudit(ctx, inputs); err != nil {
		return err
	}
	ingested(h, "AUDIT", inputs, func(in app.AuditInput) time.Time { return in.Time })
	return nil
}
