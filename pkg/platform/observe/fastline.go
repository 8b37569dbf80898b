package observe

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
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
	b := append((*bp)[:0], `{"time":"`...)
	b = t.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":`...)
	b = appendJSONString(b, level.String())
	b = append(b, `,"msg":`...)
	b = appendJSONString(b, msg)
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
		b = appendHex(b, tid[:])
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
			if f := a.Value.Float64(); math.IsInf(f, 0) || math.IsNaN(f) {
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
	b = appendJSONString(b, a.Key)
	b = append(b, ':')
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		return appendJSONString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return appendJSONFloat(b, v.Float64())
	default: // KindBool, the only other kind WriteLine lets through
		return strconv.AppendBool(b, v.Bool())
	}
}

func appendHex(b []byte, p []byte) []byte {
	for _, c := range p {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// appendJSONFloat is encoding/json's encoding of a finite float64, which
// slog's JSON handler uses: the shortest decimal, in exponent form below
// 1e-6 and from 1e21 on, its exponent without a leading zero.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONString is slog's JSON string: quoted, with ", \ and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028 and
// U+2029 escaped (log/slog's appendEscapedJSONString, from Go's source,
// BSD-style licence, Copyright 2022 The Go Authors).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				// This encodes bytes < 0x20 except for \t, \n and \r.
				b = append(b, `\u00`...)
				b = append(b, hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 is LINE SEPARATOR and U+2029 is PARAGRAPH SEPARATOR,
		// valid in JSON but not in JavaScript strings.
		if c == '\u2028' || c == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"
