package observe

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
)

// TestWriteLineWritesWhatSlogWrites: for every kind of value WriteLine
// takes, with strings that need escaping, and with and without the
// context's ids, its line is the JSON handler's, byte for byte.
func TestWriteLineWritesWhatSlogWrites(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 2, 3, 4, 5, 123456789, time.UTC)
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	traced := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	contexts := map[string]context.Context{
		"bare":       context.Background(),
		"request id": WithRequestID(context.Background(), "req-\"7\""),
		"both ids":   WithRequestID(traced, "abc"),
	}
	strs := []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f",
		"<html> & friends", "ünïcödé ✓ 😀", "bad \xff\xfe utf-8", "line\u2028para\u2029", "/v1/resources/1?q=a b"}
	floats := []float64{0, 0.001, 0.523, 1, 12.5, 1234567.891, 1e-7, 1e-6, 1e20, 1e21, 3.4e38, -0.25, -1e-9, math.SmallestNonzeroFloat64, math.MaxFloat64}
	for name, ctx := range contexts {
		for i, s := range strs {
			f := floats[i%len(floats)]
			attrs := []slog.Attr{slog.String("method", s), slog.String(s, "key escaped"), slog.Int("status", 200+i),
				slog.Int64("neg", -int64(i)), slog.Uint64("u", math.MaxUint64-uint64(i)), slog.Float64("duration_ms", f), slog.Bool("ok", i%2 == 0)}
			fast, slow := lines(t, ctx, at, s, attrs)
			require.Equal(t, slow, fast, "%s, %q", name, s)
		}
	}
	for _, f := range floats {
		fast, slow := lines(t, context.Background(), at, "f", []slog.Attr{slog.Float64("f", f)})
		require.Equal(t, slow, fast, "%v", f)
	}
	// What With added comes first, in the order added, as slog writes it.
	fast, slow := linesWith(t, contexts["both ids"], func(l *slog.Logger) *slog.Logger {
		return l.With("service", "gateway").With(slog.Int("n", 7), slog.String("esc\"", "a\tb"), slog.Float64("f", 0.5))
	}, at, "with", []slog.Attr{slog.String("method", "GET")})
	require.Equal(t, slow, fast)
	require.Contains(t, fast, `"msg":"with","service":"gateway","n":7,"esc\"":"a\tb","f":0.5,"method":"GET"`)
	zone := time.FixedZone("", 5*3600+30*60)
	fast, slow = lines(t, context.Background(), at.In(zone), "zoned", nil)
	require.Equal(t, slow, fast)
}

// lines is the line WriteLine writes and the one the logger writes.
func lines(t *testing.T, ctx context.Context, at time.Time, msg string, attrs []slog.Attr) (fast, slow string) {
	t.Helper()
	return linesWith(t, ctx, func(l *slog.Logger) *slog.Logger { return l }, at, msg, attrs)
}

// linesWith is lines for a logger that with has added to.
func linesWith(t *testing.T, ctx context.Context, with func(*slog.Logger) *slog.Logger, at time.Time, msg string, attrs []slog.Attr) (fast, slow string) {
	t.Helper()
	var fb, sb bytes.Buffer
	require.True(t, WriteLine(ctx, with(NewLogger(&fb, slog.LevelInfo, "")), at, slog.LevelInfo, msg, attrs...))
	log := with(NewLogger(&sb, slog.LevelInfo, ""))
	rec := slog.NewRecord(at, slog.LevelInfo, msg, 0)
	rec.AddAttrs(attrs...)
	require.NoError(t, log.Handler().Handle(ctx, rec))
	return fb.String(), sb.String()
}

// TestWriteLineLeavesTheRestToSlog: a logger with something added, or a
// value WriteLine does not encode, is slog's; a level below the logger's
// writes nothing.
func TestWriteLineLeavesTheRestToSlog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	ctx := context.Background()
	log := NewLogger(&buf, slog.LevelWarn, "")
	require.True(t, WriteLine(ctx, log, time.Now(), slog.LevelInfo, "below", slog.Int("n", 1)), "below the level: done, nothing written")
	require.Empty(t, buf.String())

	require.False(t, WriteLine(ctx, log.With("d", time.Second), time.Now(), slog.LevelWarn, "m"), "a duration added")
	require.False(t, WriteLine(ctx, log.With("k", "v").WithGroup("g"), time.Now(), slog.LevelWarn, "m"))
	require.False(t, WriteLine(ctx, log.WithGroup("g").With("k", "v"), time.Now(), slog.LevelWarn, "m"))
	require.False(t, WriteLine(ctx, log.With(slog.Attr{}), time.Now(), slog.LevelWarn, "m"), "an empty attribute, which slog leaves out")
	require.False(t, WriteLine(ctx, slog.New(slog.NewJSONHandler(&buf, nil)), time.Now(), slog.LevelWarn, "m"))
	for _, a := range []slog.Attr{slog.Duration("d", time.Second), slog.Time("t", time.Now()), slog.Any("a", []int{1}),
		slog.Float64("nan", math.NaN()), slog.Float64("inf", math.Inf(1)), slog.Group("g", slog.Int("n", 1))} {
		require.False(t, WriteLine(ctx, log, time.Now(), slog.LevelWarn, "m", a), a.Key)
	}
	require.Empty(t, buf.String())
}

// TestALineWritesWhatSlogWrites: a Line's text is the JSON handler's
// for the same record, byte for byte, whether it writes the line itself
// or leaves it to slog (a logger it cannot write for, a value it does not
// encode), and with fewer values than keys.
func TestALineWritesWhatSlogWrites(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 2, 3, 4, 5, 123456789, time.UTC)
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := WithRequestID(trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})), "req-\"7\"")
	keys := []string{"method", `esc"aped\key`, "status", "u", "duration_ms", "ok", "tab\tkey"}
	values := []slog.Value{slog.StringValue("bad \xff utf-8 <&> \u2028"), slog.StringValue(""), slog.IntValue(-200),
		slog.Uint64Value(math.MaxUint64), slog.Float64Value(0.523), slog.BoolValue(true), slog.StringValue("last")}
	loggers := map[string]func(io.Writer) *slog.Logger{
		"plain":           func(w io.Writer) *slog.Logger { return NewLogger(w, slog.LevelDebug, "") },
		"with attributes": func(w io.Writer) *slog.Logger { return NewLogger(w, slog.LevelDebug, "").With("service", "gw", "n", 7) },
		"with a duration": func(w io.Writer) *slog.Logger { return NewLogger(w, slog.LevelDebug, "").With("d", time.Second) },
		"with a group":    func(w io.Writer) *slog.Logger { return NewLogger(w, slog.LevelDebug, "").WithGroup("g") },
	}
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn + 1} {
		for _, msg := range []string{"http request", "quote \" and \n"} {
			line := NewLine(level, msg, keys...)
			for name, logger := range loggers {
				for n := 0; n <= len(values); n++ {
					var fb, sb bytes.Buffer
					line.Write(ctx, logger(&fb), at, values[:n]...)
					rec := slog.NewRecord(at, level, msg, 0)
					for i, v := range values[:n] {
						rec.AddAttrs(slog.Attr{Key: keys[i], Value: v})
					}
					require.NoError(t, logger(&sb).Handler().Handle(ctx, rec))
					require.Equal(t, sb.String(), fb.String(), "%s, %v, %q, %d values", name, level, msg, n)
				}
			}
		}
	}
	// A value the line does not encode is slog's to write.
	var fb, sb bytes.Buffer
	NewLine(slog.LevelInfo, "m", "f", "d").Write(ctx, NewLogger(&fb, slog.LevelInfo, ""), at, slog.Float64Value(math.NaN()), slog.DurationValue(time.Second))
	rec := slog.NewRecord(at, slog.LevelInfo, "m", 0)
	rec.AddAttrs(slog.Float64("f", math.NaN()), slog.Duration("d", time.Second))
	require.NoError(t, NewLogger(&sb, slog.LevelInfo, "").Handler().Handle(ctx, rec))
	require.Equal(t, sb.String(), fb.String())
	require.Contains(t, fb.String(), `"d":1000000000`)
}

func TestALineBelowTheLoggersLevelWritesNothing(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	line := NewLine(slog.LevelInfo, "m", "n")
	line.Write(context.Background(), NewLogger(&buf, slog.LevelWarn, ""), time.Now(), slog.IntValue(1))
	line.Write(context.Background(), NewLogger(&buf, slog.LevelWarn, "").WithGroup("g"), time.Now(), slog.IntValue(1))
	require.Empty(t, buf.String())
	require.Panics(t, func() {
		line.Write(context.Background(), NewLogger(&buf, slog.LevelWarn, ""), time.Now(), slog.IntValue(1), slog.IntValue(2))
	}, "more values than keys")
}

// TestLinesFromBothPathsDoNotInterleave: WriteLine and the JSON handler
// write through one lock, so a destination that is not safe for
// concurrent writes still gets whole lines.
func TestLinesFromBothPathsDoNotInterleave(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer // not safe for concurrent writes by itself
	log := NewLogger(&buf, slog.LevelInfo, "")
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if i%2 == 0 {
				require.True(t, WriteLine(context.Background(), log, time.Now(), slog.LevelInfo, "fast", slog.Int("i", i)))
			} else {
				log.Info("slow", "i", i)
			}
		})
	}
	wg.Wait()
	got := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	require.Len(t, got, 200)
	for _, l := range got {
		require.True(t, bytes.HasPrefix(l, []byte(`{"time":"`)) && bytes.HasSuffix(l, []byte("}")), "%s", l)
	}
}

// BenchmarkAccessLine: the access log's line through WriteLine, as a
// Line (httpserver.LogRequest's) and through slog's JSON handler.
func BenchmarkAccessLine(b *testing.B) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := WithRequestID(trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})), "0af7651916cd43dd8448eb211c80319c")
	log := NewLogger(io.Discard, slog.LevelInfo, "gateway")
	attrs := []slog.Attr{slog.String("method", "GET"), slog.String("path", "/v1/resources/123"),
		slog.String("client", "127.0.0.1"), slog.Int("status", 200), slog.Int("bytes", 1024), slog.Float64("duration_ms", 0.523)}
	b.Run("write-line", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			WriteLine(ctx, log, time.Now(), slog.LevelInfo, "http request", attrs...)
		}
	})
	line := NewLine(slog.LevelInfo, "http request", "method", "path", "client", "status", "bytes", "duration_ms")
	values := make([]slog.Value, len(attrs))
	for i, a := range attrs {
		values[i] = a.Value
	}
	b.Run("line", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			line.Write(ctx, log, time.Now(), values...)
		}
	})
	b.Run("slog", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := slog.NewRecord(time.Now(), slog.LevelInfo, "http request", 0)
			rec.AddAttrs(attrs...)
			_ = log.Handler().Handle(ctx, rec)
		}
	})
}
