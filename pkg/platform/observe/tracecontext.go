package observe

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
)

// MaxTraceState bounds the tracestate kept with an event: the W3C
// recommendation is that vendors keep at least 512 characters, and an
// outbox column holds no more. A longer one is dropped, never cut, since a
// cut list could be misread.
const MaxTraceState = 512

// w3c is the W3C trace-context format, used whatever global propagator a
// process installs: events carry exactly traceparent and tracestate.
var w3c propagation.TraceContext

// TraceContext is ctx's W3C trace context as text, ("", "") when ctx has
// no valid span context.
func TraceContext(ctx context.Context) (parent, state string) {
	carrier := propagation.MapCarrier{}
	w3c.Inject(ctx, carrier)
	parent, state = carrier.Get("traceparent"), carrier.Get("tracestate")
	if len(state) > MaxTraceState {
		state = ""
	}
	return parent, state
}

// WithTraceContext returns ctx carrying the remote span context that
// parent and state describe; ctx unchanged when parent is not a valid
// traceparent.
func WithTraceContext(ctx context.Context, parent, state string) context.Context {
	if parent == "" {
		return ctx
	}
	return w3c.Extract(ctx, propagation.MapCarrier{"traceparent": parent, "tracestate": state})
}

// InjectTraceContext writes ctx's trace context into carrier (message
// headers, say).
func InjectTraceContext(ctx context.Context, carrier propagation.TextMapCarrier) {
	w3c.Inject(ctx, carrier)
}

// ExtractTraceContext returns ctx carrying the trace context found in
// carrier, if any.
func ExtractTraceContext(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	return w3c.Extract(ctx, carrier)
}
