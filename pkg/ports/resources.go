package ports

import (
	"context"
	"time"
)

// Event is a message bound for the event bus, written to the outbox in the
// same transaction as the change it reports.
type Event struct {
	ID      string // the CloudEvents id; also the JetStream Nats-Msg-Id
	Subject string // NATS subject, e.g. events.resource.created
	Payload []byte // the CloudEvents JSON envelope
	// TraceParent and TraceState are the W3C trace context of the operation
	// that caused the event ("" when none): an outbox keeps them with the
	// event, the publisher puts them in the message headers, and consumers
	// continue that trace.
	TraceParent, TraceState string
}

// WithTrace returns e with the trace context parent and state, unless it
// already has one of its own.
func WithTrace(e Event, parent, state string) Event {
	if e.TraceParent == "" {
		e.TraceParent, e.TraceState = parent, state
	}
	return e
}

// OutboxStore is the relay's view of the outbox.
type OutboxStore interface {
	// Pending returns up to limit unsent events, oldest first.
	Pending(ctx context.Context, limit int) ([]OutboxEntry, error)
	// MarkSent records that the entries were published.
	MarkSent(ctx context.Context, seqs []int64, at time.Time) error
}

// OutboxBacklog reports what waits in an outbox, for its metrics.
type OutboxBacklog interface {
	// Backlog returns how many events are unsent and when the oldest of
	// them was written (the zero time when none is).
	Backlog(ctx context.Context) (pending int, oldest time.Time, err error)
}

// OutboxEntry is an unsent outbox row.
type OutboxEntry struct {
	Seq int64
	Event
}

// EventPublisher publishes events durably.
type EventPublisher interface {
	// PublishBatch publishes events and reports, per event, nil once the
	// bus has stored it, or an error when the outcome is unknown and the
	// event must be published again. Publishing one event id twice stores
	// it once.
	PublishBatch(ctx context.Context, events []Event) []error
}

// EventSubscriber delivers events from the bus to a handler, at least
// once and in stream order, one at a time or in batches. The event edges
// (services/<svc>/eventsapi) are its handlers.
type EventSubscriber interface {
	// Subscribe runs until ctx ends, handing each event on subjects (NATS
	// subject filters) to handle under the durable consumer name. An event
	// is acknowledged when handle returns nil and redelivered later
	// otherwise; one that keeps failing is set aside (a dead-letter queue)
	// rather than retried for ever.
	Subscribe(ctx context.Context, durable string, subjects []string, handle func(context.Context, Event) error) error
	// SubscribeBatches is Subscribe for handlers that commit many events
	// at once: it hands over up to max events, or what arrived within
	// wait, and acknowledges the batch when handle returns nil; otherwise
	// every event in it is redelivered.
	SubscribeBatches(ctx context.Context, durable string, subjects []string, max int, wait time.Duration, handle func(context.Context, []Event) error) error
	// SubscribeGroups is Subscribe for handlers that apply many events
	// more cheaply than one at a time but must answer for each: it hands
	// over the events already waiting, up to max, without waiting for
	// more, and takes one result per event (errs[i] for events[i]). Each
	// event is then acknowledged, redelivered or set aside as Subscribe
	// does, so one bad event neither holds back nor repeats the others;
	// an event that failed comes round again after later ones, which the
	// handler must tolerate.
	SubscribeGroups(ctx context.Context, durable string, subjects []string, max int, handle func(ctx context.Context, events []Event) (errs []error)) error
}
