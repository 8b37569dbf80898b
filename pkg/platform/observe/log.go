package observe

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"

	"go.opentelemetry.io/otel/trace"
)

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id for logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	if u, ok := ctx.(*Untraced); ok {
		return u.id // without Value's boxing of the string
	}
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewLogger returns a JSON logger whose records carry request_id and
// trace_id whenever the context passed to the *Context methods has them.
func NewLogger(w io.Writer, level slog.Level, service string) *slog.Logger {
	plain := lockedWriter{mu: new(sync.Mutex), w: w}
	h := slog.NewJSONHandler(plain, &slog.HandlerOptions{Level: level})
	l := slog.New(contextHandler{Handler: h, plain: plain})
	if service != "" {
		l = l.With("service", service)
	}
	return l
}

// contextHandler adds ids from the context so that call sites need not.
type contextHandler struct {
	slog.Handler
	// plain is the handler's destination, for WriteLine, while what has
	// been added to the handler is attributes WriteLine can encode; nil
	// once anything else (a group, another kind of value) has been.
	plain io.Writer
	// with is the added attributes as WriteLine writes them.
	with []byte
}

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	next := contextHandler{Handler: h.Handler.WithAttrs(attrs)}
	if h.plain != nil && encodable(attrs) {
		next.plain, next.with = h.plain, slices.Clip(h.with)
		for _, a := range attrs {
			next.with = appendAttr(next.with, a)
		}
	}
	return next
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{Handler: h.Handler.WithGroup(name)}
}
