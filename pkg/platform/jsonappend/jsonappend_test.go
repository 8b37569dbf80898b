package jsonappend

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var strs = []string{"", "plain", `q"uote\back`, "<a href='x'>&amp;</a>", "\b\f\n\r\t\x00\x01\x1f\x7f",
	"ünïcödé ✓ 😀", "bad \xff\xfe utf-8", "cut \xe2\x82", "sep\u2028\u2029"}

// TestStringsAsTheLibrariesWriteThem: Std is encoding/json's string, Slog
// log/slog's JSON handler's.
func TestStringsAsTheLibrariesWriteThem(t *testing.T) {
	t.Parallel()
	for _, s := range strs {
		requireAsTheLibraries(t, s)
	}
}

// TestEveryEscapeAtEveryPlaceInAWord: String reads eight bytes at a time;
// each byte that needs escaping, or starts a multi-byte or broken UTF-8
// sequence, is put at each place of the first words of a plain string, so
// that it falls in a word's every lane and at its ends.
func TestEveryEscapeAtEveryPlaceInAWord(t *testing.T) {
	t.Parallel()
	var specials []string
	for c := range 0x20 {
		specials = append(specials, string(rune(c)))
	}
	specials = append(specials, `"`, `\`, "<", ">", "&", "\x7f", "é", "\u2028", "\u2029", "\xff", "\xe2\x82", "😀")
	plain := strings.Repeat("abcdefgh", 3)
	for _, sp := range specials {
		for at := 0; at <= 17; at++ {
			s := plain[:at] + sp + plain[at:]
			requireAsTheLibraries(t, s)
		}
	}
}

// FuzzString: for any string, String writes what encoding/json (Std) and
// log/slog (Slog) write.
func FuzzString(f *testing.F) {
	for _, s := range strs {
		f.Add(s)
	}
	f.Add("0123456789abcdef\x1f0123456789abcdef")
	f.Fuzz(func(t *testing.T, s string) { requireAsTheLibraries(t, s) })
}

func requireAsTheLibraries(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	require.NoError(t, err)
	require.Equal(t, string(want), string(String(nil, s, Std)), "%q", s)
	var buf bytes.Buffer
	require.NoError(t, slog.NewJSONHandler(&buf, nil).Handle(context.Background(), slog.NewRecord(time.Time{}, slog.LevelInfo, s, 0)))
	require.Equal(t, `{"level":"INFO","msg":`+string(String(nil, s, Slog))+"}\n", buf.String(), "%q", s)
}

// BenchmarkString: the keys and string values of an access line, in
// log/slog's style, and of a usage record, in encoding/json's.
func BenchmarkString(b *testing.B) {
	for _, c := range []struct {
		name  string
		style Style
		in    []string
	}{
		{"access-line", Slog, []string{"level", "INFO", "msg", "http request", "method", "GET", "path", "/v1/resources/0195b6a2-7c1d-7e3f-9a4b-2c8d1e6f5a70",
			"client", "127.0.0.1", "status", "bytes", "duration_ms", "request_id", "4bf92f3577b34da6a3ce929d0e0e4736"}},
		{"usage-record", Std, []string{"/v1/resources/", "GET", "/v1/resources/0195b6a2-7c1d-7e3f-9a4b-2c8d1e6f5a70",
			"4bf92f3577b34da6a3ce929d0e0e4736", "client:7f9e2d4c-bench", "7f9e2d4c-bench"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				buf = buf[:0]
				for _, s := range c.in {
					buf = String(buf, s, c.style)
				}
			}
		})
	}
}

// TestFloatsAndTimesAsJSONWritesThem: Float is encoding/json's float64,
// Time its time.Time.
func TestFloatsAndTimesAsJSONWritesThem(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0, math.Copysign(0, -1), 0.001, 0.523, 1, -12.5, 1e-7, 1e-6, 1.5e-10, 1e20, 1e21, 1e100,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -math.MaxFloat64} {
		want, err := json.Marshal(f)
		require.NoError(t, err)
		require.True(t, Finite(f))
		require.Equal(t, string(want), string(Float(nil, f)), "%v", f)
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		require.False(t, Finite(f))
	}
	for _, tm := range []time.Time{time.Date(2026, 12, 2, 3, 4, 5, 123456789, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 2, 3, 4, 5, 0, time.FixedZone("", -(9*3600+30*60)))} {
		want, err := json.Marshal(tm)
		require.NoError(t, err)
		require.Equal(t, string(want), string(Time(nil, tm)))
	}
	require.Equal(t, "00ff7a", string(Hex(nil, []byte{0, 0xff, 0x7a})))
}
