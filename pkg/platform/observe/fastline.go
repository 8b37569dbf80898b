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
// slog calls for every float.
func WriteLine(ctx context.Context, log *slog.Logger, t time.Time, level slog.Level, msg string, attrs ...slog.Attr) bool {
	h, ok := log.Handler().(contextHandler)
	if !ok || h.plain == nil || !encodable(attrs) {
		return false
	}
	if !h.Enabled(ctx, level) {
		return true
	}
	bp := lineBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":`...)
	b = jsonappend.Time(b, t.Round(0))
	b = append(b, `,"level":`...)
	b = jsonappend.String(b, level.String(), jsonappend.Slog)
	b = append(b, `,"msg":`...)
	b = jsonappend.String(b, msg, jsonappend.Slog)
	b = append(b, h.with...)
	for _, a := range attrs {
		b = appendAttr(b, a)
	}
	if id := RequestID(ctx); id != "" {
		b = appendAttr(b, slog.String("request_id", id))
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
	return true
}

// encodable reports whether appendAttr writes every one of attrs as
// slog's JSON handler does.
func encodable(attrs []slog.Attr) bool {
	for _, a := range attrs {
		switch a.Value.Kind() {
		case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindBool:
		case slog.KindFloat64:
			// What slog writes for these (json.Marshal's error) is left
			// to slog.
			if !jsonappend.Finite(a.Value.Float64()) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// lineBuffers recycles WriteLine's buffers.
var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func appendAttr(b []byte, a slog.Attr) []byte {
	b = append(b, ',')
	b = jsonappend.String(b, a.Key, jsonappend.Slog)
	b = append(b, ':')
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		return jsonappend.String(b, v.String(), jsonappend.Slog)
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return jsonappend.Float(b, v.Float64())
	default: // KindBool, the only other kind WriteLine lets through
		return strconv.AppendBool(b, v.Bool())
	}
}
