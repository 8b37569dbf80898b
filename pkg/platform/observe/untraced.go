package observe

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Untraced is the context of one request that is not traced: its request
// id, and the new, unsampled trace a request without a traceparent gets
// from the tracer when traces are not exported (AppendTraceparent sends
// it upstream). RequestID, the loggers and trace.SpanFromContext find
// both in it as in a context made by WithRequestID and
// trace.ContextWithSpanContext. It is a value that a request's own state
// holds, where those two contexts cost four allocations a request.
//
// It is for a server that does not run TraceHTTP; such a server must
// leave traced requests to one that does. Its zero value carries neither
// id. Like context.Background it is never cancelled and has no deadline.
type Untraced struct {
	id   string
	span untracedSpan
}

// untracedSpan is the span trace.SpanFromContext finds in an Untraced: it
// records nothing, as the tracer's unsampled spans record nothing.
type untracedSpan struct {
	noop.Span
	sc trace.SpanContext
}

func (s *untracedSpan) SpanContext() trace.SpanContext { return s.sc }

// Start gives u the request id and a new trace, and returns the trace's
// span context.
func (u *Untraced) Start(id string) trace.SpanContext {
	var tid trace.TraceID
	var sid trace.SpanID
	binary.NativeEndian.PutUint64(tid[:8], rand.Uint64())
	binary.NativeEndian.PutUint64(tid[8:], rand.Uint64())
	binary.NativeEndian.PutUint64(sid[:], rand.Uint64())
	u.id = id
	u.span.sc = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})
	return u.span.sc
}

// Deadline, Done and Err are context.Background's.
func (*Untraced) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*Untraced) Done() <-chan struct{}       { return nil }
func (*Untraced) Err() error                  { return nil }

// Value answers the request id's key and OpenTelemetry's span key.
func (u *Untraced) Value(key any) any {
	switch key {
	case any(requestIDKey{}):
		if u.id != "" {
			return u.id
		}
	case spanKey:
		if u.span.sc.IsValid() {
			return &u.span
		}
	}
	return nil
}

func (u *Untraced) String() string { return "observe.Untraced(" + u.id + ")" }

// spanKey is the key OpenTelemetry keeps a context's span under, which it
// does not export: learnt by asking trace.SpanFromContext about a context
// that notes the key it is asked for. TestUntracedAnswersAsTheTracersContext
// fails if a later version looks for the span otherwise.
var spanKey = func() any {
	var p keyProbe
	trace.SpanFromContext(&p)
	return p.asked
}()

// keyProbe is a context that notes the last key Value was asked for.
type keyProbe struct {
	context.Context // nil: SpanFromContext calls only Value
	asked           any
}

func (p *keyProbe) Value(key any) any { p.asked = key; return nil }
