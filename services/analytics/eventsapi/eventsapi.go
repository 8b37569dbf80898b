// Package eventsapi is the analytics service's event edge: it turns
// batches of usage and audit CloudEvents into the ingest and append use
// cases' inputs, as httpapi does for requests. The subscriptions
// themselves are wiring (analyticssvc).
package eventsapi

import (
	"context"
	"encoding/json"
	"errors"
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
	// IngestChunk bounds the records of one insert (DefaultIngestChunk
	// when 0).
	IngestChunk int
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

// Usage stores a batch of usage events: gateway.requests (many records a
// message, what the gateway publishes) or gateway.request (one). Malformed
// ones are logged and left out. Records are stored IngestChunk at a time,
// so a fetch of many batched messages never becomes one huge insert.
func (h *Handler) Usage(ctx context.Context, batch []ports.Event) error {
	chunk := h.IngestChunk
	if chunk <= 0 {
		chunk = DefaultIngestChunk
	}
	records := make([]domain.UsageRecord, 0, min(len(batch), chunk))
	flush := func() error {
		if len(records) == 0 {
			return nil
		}
		if _, err := h.app.IngestUsage(ctx, records); err != nil {
			return err
		}
		ingested(h, "USAGE", records, func(r domain.UsageRecord) time.Time { return r.Time })
		records = records[:0]
		return nil
	}
	for _, e := range batch {
		for _, r := range h.usageRecords(ctx, e) {
			records = append(records, r)
			if len(records) >= chunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// DefaultIngestChunk is how many usage records one insert stores at most.
const DefaultIngestChunk = 5000

// usageRecords are the well-formed records of one usage event.
func (h *Handler) usageRecords(ctx context.Context, e ports.Event) []domain.UsageRecord {
	env, err := events.Decode(e.Payload)
	var raw []eventschema.UsageRecord
	if err == nil {
		switch eventschema.CloudEventType(env.Type) {
		case eventschema.CloudEventTypeGatewayRequests:
			var b eventschema.UsageBatch
			if err = json.Unmarshal(env.Data, &b); err == nil {
				raw = b.Records
			}
		default:
			var r eventschema.UsageRecord
			if err = json.Unmarshal(env.Data, &r); err == nil {
				raw = []eventschema.UsageRecord{r}
			}
		}
	}
	out := make([]domain.UsageRecord, 0, len(raw))
	for _, r := range raw {
		if r.RequestId == "" {
			err = errors.New("a record without a request id")
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
		out = append(out, rec)
	}
	if err != nil || len(raw) == 0 {
		h.log.WarnContext(ctx, "ignoring a malformed usage record", "event", e.ID)
	}
	return out
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
