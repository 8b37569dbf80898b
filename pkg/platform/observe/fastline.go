package observe

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/lattice-platform/lattice/pkg/platform/jsonappend"
)

// lockedWriter serialises the writes of the JSON handler and of
// WriteLine, so that lines from both never interleave whatever the
// destination.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// WriteLine writes the record (t, level, msg, attrs) as log's handler
// would, byte for byte, without slog's generic machinery, and reports
// whether it did. It does when log is a logger of NewLogger's, with no
// group added since, and every attribute, those added with With included,
// is a string, an integer, a finite float or a boolean; otherwise the
// caller logs as usual. A record below the logger's level counts as written.
//
// It is for the access log's line per request, which through slog's JSON
// handler cost 8 % of the gateway's CPU under load: most of it in the
// handler's generic walk over the attributes and in encoding/json, which
// slog calls for every float. A line written often with the same message
// and keys is cheaper still as a Line.
func WriteLine(ctx context.Context, log *slog.Logger, t time.Time, level slog.Level, msg string, attrs ...slog.Attr) bool {
	h, ok := log.Handler().(contextHandler)
	if !ok || h.plain == nil || !encodable(attrs) {
		return false
	}
	if !h.Enabled(ctx, level) {
		return true
	}
	bp, b := startLine(t)
	b = append(b, `,"level":`...)
	b = jsonappend.String(b, level.String(), jsonappend.Slog)
	b = append(b, `,"msg":`...)
	b = jsonappend.String(b, msg, jsonappend.Slog)
	b = append(b, h.with...)
	for _, a := range attrs {
		b = appendAttr(b, a)
	}
	endLine(ctx, h, bp, b)
	return true
}

// Line is a log line whose level, message and keys are fixed: their text
// is made once, and each line writes only its time and values. Quoting
// the same eleven keys and the message again was a third of the access
// line's cost.
type Line struct {
	level slog.Level
	msg   string
	keys  []string
	head  string   // the level and the message as the line writes them
	quote []string // each key as the line writes it: ,"key":
}

// NewLine returns the line (level, msg) whose values go under keys.
func NewLine(level slog.Level, msg string, keys ...string) *Line {
	l := &Line{level: level, msg: msg, keys: keys}
	b := append([]byte(`,"level":`), jsonappend.String(nil, level.String(), jsonappend.Slog)...)
	b = append(b, `,"msg":`...)
	l.head = string(jsonappend.String(b, msg, jsonappend.Slog))
	for _, k := range keys {
		q := jsonappend.String([]byte{','}, k, jsonappend.Slog)
		l.quote = append(l.quote, string(append(q, ':')))
	}
	return l
}

// Write logs the line at t with values under the first len(values) keys
// (the rest are left out), as log.LogAttrs would, and as WriteLine does
// when it can; it panics if there are more values than keys.
func (l *Line) Write(ctx context.Context, log *slog.Logger, t time.Time, values ...slog.Value) {
	keys := l.keys[:len(values)]
	if h, ok := log.Handler().(contextHandler); ok && h.plain != nil && encodableValues(values) {
		if !h.Enabled(ctx, l.level) {
			return
		}
		bp, b := startLine(t)
		b = append(b, l.head...)
		b = append(b, h.with...)
		for i, v := range values {
			b = append(b, l.quote[i]...)
			b = appendValue(b, v)
		}
		endLine(ctx, h, bp, b)
		return
	}
	if !log.Enabled(ctx, l.level) {
		return
	}
	// A record of its own rather than log.LogAttrs, which asks the
	// runtime for its caller on every line for a source the handler does
	// not print.
	rec := slog.NewRecord(t, l.level, l.msg, 0)
	for i, v := range values {
		rec.AddAttrs(slog.Attr{Key: keys[i], Value: v})
	}
	_ = log.Handler().Handle(ctx, rec)
}

// startLine takes a buffer and starts a line at t in it.
func startLine(t time.Time) (*[]byte, []byte) {
	bp := lineBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":`...)
	return bp, jsonappend.Time(b, t.Round(0))
}

// endLine ends the line b with the context's ids, writes it to h's
// destination and gives the buffer back.
func endLine(ctx context.Context, h contextHandler, bp *[]byte, b []byte) {
	if id := RequestID(ctx); id != "" {
		b = append(b, `,"request_id":`...)
		b = jsonappend.String(b, id, jsonappend.Slog)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		tid := sc.TraceID()
		b = append(b, `,"trace_id":"`...)
		b = jsonappend.Hex(b, tid[:])
		b = append(b, '"')
	}
	b = append(b, "}\n"...)
	_, _ = h.plain.Write(b)
	*bp = b
	lineBuffers.Put(bp)
}

// encodable reports whether appendAttr writes every one of attrs as
// slog's JSON handler does.
func encodable(attrs []slog.Attr) bool {
	for _, a := range attrs {
		if !encodableValue(a.Value) {
			return false
		}
	}
	return true
}

// encodableValues is encodable for values alone.
func encodableValues(values []slog.Value) bool {
	for _, v := range values {
		if !encodableValue(v) {
			return false
		}
	}
	return true
}

// encodableValue reports whether appendValue writes v as slog's JSON
// handler does.
func encodableValue(v slog.Value) bool {
	switch v.Kind() {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindBool:
		return true
	case slog.KindFloat64:
		// What slog writes for these (json.Marshal's error) is left to
		// slog.
		return jsonappend.Finite(v.Float64())
	}
	return false
}

// lineBuffers recycles WriteLine's buffers.
var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendAttr appends a as ,"key":value.
func appendAttr(b []byte, a slog.Attr) []byte {
	b = append(b, ',')
	b = jsonappend.String(b, a.Key, jsonappend.Slog)
	b = append(b, ':')
	return appendValue(b, a.Value)
}

// appendValue appends v, one of the kinds encodableValue lets through.
func appendValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return jsonappend.String(b, v.String(), jsonappend.Slog)
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return jsonappend.Float(b, v.Float64())
	default: // KindBool, the only other kind let through
		return strconv.AppendBool(b, v.Bool())
	}
}
