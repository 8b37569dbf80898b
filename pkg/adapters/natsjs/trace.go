package natsjs

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/lattice-platform/lattice/pkg/platform/observe"
)

// Traces cross the bus in the message headers, as W3C traceparent and
// tracestate (lower-case: NATS headers are case-sensitive, and other
// clients look for these names). A publish is a producer span, a child of
// the operation that caused it (for an outbox event, the request that wrote
// the row); handling a message is a consumer span, a child of that
// producer span and linked to it, so one request's work across services is
// one trace. A batch handler's span links to every message it handles.

const tracerName = "github.com/lattice-platform/lattice/pkg/adapters/natsjs"

func tracer() trace.Tracer { return otel.Tracer(tracerName) }

// headerCarrier reads and writes trace context in NATS headers, keeping
// the header names exactly as given.
type headerCarrier nats.Header

var _ propagation.TextMapCarrier = headerCarrier(nil)

func (h headerCarrier) Get(key string) string { return nats.Header(h).Get(key) }
func (h headerCarrier) Set(key, value string) { nats.Header(h).Set(key, value) }
func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// startPublish starts the producer span of a message to subject, a child
// of the trace context parent/state when given and of ctx's span
// otherwise, and writes the span's context into msg's headers.
func startPublish(ctx context.Context, msg *nats.Msg, id, parent, state string) trace.Span {
	if parent != "" {
		ctx = observe.WithTraceContext(ctx, parent, state)
	}
	ctx, span := tracer().Start(ctx, "publish "+msg.Subject, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", msg.Subject),
			attribute.String("messaging.message.id", id)))
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	observe.InjectTraceContext(ctx, headerCarrier(msg.Header))
	return span
}

// startProcess starts the consumer span of handling msg, a child of the
// trace its headers carry and linked to it; ctx keeps its cancellation.
func startProcess(ctx context.Context, subject string, header nats.Header, consumer string) (context.Context, trace.Span) {
	remote := observe.ExtractTraceContext(ctx, headerCarrier(header))
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", subject),
			attribute.String("messaging.consumer.group.name", consumer))}
	if link := trace.LinkFromContext(remote); link.SpanContext.IsValid() {
		opts = append(opts, trace.WithLinks(link))
	}
	return tracer().Start(remote, "process "+subject, opts...)
}

// startBatch starts the consumer span of handling a batch: a new trace
// (the messages come from many), linked to each message's trace.
func startBatch(ctx context.Context, consumer string, headers []nats.Header) (context.Context, trace.Span) {
	links := make([]trace.Link, 0, len(headers))
	for _, h := range headers {
		if sc := trace.SpanContextFromContext(observe.ExtractTraceContext(context.Background(), headerCarrier(h))); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	return tracer().Start(ctx, "process batch "+consumer, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithNewRoot(), trace.WithLinks(links...),
		trace.WithAttributes(attribute.String("messaging.system", "nats"),
			attribute.String("messaging.consumer.group.name", consumer),
			attribute.Int("messaging.batch.message_count", len(headers))))
}

// end ends span, recording err as its status when there is one.
func end(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
