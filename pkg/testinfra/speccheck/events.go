package speccheck

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/lattice-platform/lattice/openapi"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// DataSchemas names, for each CloudEvents type of events.yaml, the schema
// its data must match. A test checks that it names every type.
var DataSchemas = map[string]string{
	"resource.created": "ResourceCreated",
	"resource.updated": "ResourceUpdated",
	"resource.deleted": "ResourceDeleted",
	"file.uploaded":    "FileUploaded",
	"file.deleted":     "FileDeleted",
	"file.rejected":    "FileRejected",
	"chunks.ready":     "ChunksReady",
	"gateway.request":  "UsageRecord",
	"gateway.requests": "UsageBatch",
	"audit.recorded":   "AuditRecord",
}

var eventsDoc = sync.OnceValues(func() (*openapi3.T, error) { return openapi.Load("events") })

// ValidateEvent checks an event's payload against events.yaml: the
// CloudEvents envelope, then its data against its type's schema. It
// returns the event's type.
func ValidateEvent(e ports.Event) (string, error) {
	doc, err := eventsDoc()
	if err != nil {
		return "", err
	}
	var envelope map[string]any
	if err := json.Unmarshal(e.Payload, &envelope); err != nil {
		return "", fmt.Errorf("event %s: the payload is not JSON: %w", e.ID, err)
	}
	if err := doc.Components.Schemas["CloudEvent"].Value.VisitJSON(envelope); err != nil {
		return "", fmt.Errorf("event %s: the envelope violates CloudEvent: %w", e.ID, err)
	}
	typ, _ := envelope["type"].(string)
	name, ok := DataSchemas[typ]
	if !ok {
		return "", fmt.Errorf("event %s: no data schema for type %q", e.ID, typ)
	}
	if err := doc.Components.Schemas[name].Value.VisitJSON(envelope["data"]); err != nil {
		return "", fmt.Errorf("event %s (%s): the data violates %s: %w", e.ID, typ, name, err)
	}
	return typ, nil
}

// Publishing wraps a publisher: every event is validated before it is
// published (a violation fails t), and recorded as produced once the bus
// has stored it.
func Publishing(t testing.TB, next ports.EventPublisher) ports.EventPublisher {
	return &publisher{t: t, next: next}
}

type publisher struct {
	t    testing.TB
	next ports.EventPublisher
}

func (p *publisher) PublishBatch(ctx context.Context, events []ports.Event) []error {
	types := make([]string, len(events))
	for i, e := range events {
		typ, err := ValidateEvent(e)
		if err != nil {
			p.t.Errorf("produced: %v", err)
			continue
		}
		types[i] = typ
	}
	errs := p.next.PublishBatch(ctx, events)
	for i, err := range errs {
		if err == nil && types[i] != "" {
			RecordEvent(p.t, types[i], "produced")
		}
	}
	return errs
}

// Subscribing wraps a subscriber: every event delivered is validated (a
// violation fails t) and recorded as consumed once its handler took it.
func Subscribing(t testing.TB, next ports.EventSubscriber) ports.EventSubscriber {
	return &subscriber{t: t, next: next}
}

type subscriber struct {
	t    testing.TB
	next ports.EventSubscriber
}

func (s *subscriber) check(e ports.Event) string {
	typ, err := ValidateEvent(e)
	if err != nil {
		s.t.Errorf("consumed: %v", err)
	}
	return typ
}

func (s *subscriber) Subscribe(ctx context.Context, durable string, subjects []string, handle func(context.Context, ports.Event) error) error {
	return s.next.Subscribe(ctx, durable, subjects, func(ctx context.Context, e ports.Event) error {
		typ := s.check(e)
		err := handle(ctx, e)
		if err == nil && typ != "" {
			RecordEvent(s.t, typ, "consumed")
		}
		return err
	})
}

func (s *subscriber) SubscribeBatches(ctx context.Context, durable string, subjects []string, max int, wait time.Duration, handle func(context.Context, []ports.Event) error) error {
	return s.next.SubscribeBatches(ctx, durable, subjects, max, wait, func(ctx context.Context, events []ports.Event) error {
		types := make([]string, len(events))
		for i, e := range events {
			types[i] = s.check(e)
		}
		err := handle(ctx, events)
		if err == nil {
			for _, typ := range types {
				if typ != "" {
					RecordEvent(s.t, typ, "consumed")
				}
			}
		}
		return err
	})
}

func (s *subscriber) SubscribeGroups(ctx context.Context, durable string, subjects []string, max int, handle func(context.Context, []ports.Event) []error) error {
	return s.next.SubscribeGroups(ctx, durable, subjects, max, func(ctx context.Context, events []ports.Event) []error {
		types := make([]string, len(events))
		for i, e := range events {
			types[i] = s.check(e)
		}
		errs := handle(ctx, events)
		for i, err := range errs {
			if err == nil && i < len(types) && types[i] != "" {
				RecordEvent(s.t, types[i], "consumed")
			}
		}
		return errs
	})
}
