package jsonappend

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"math/rand/v2"
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

// TestTimesAsJSONWritesThemSecondAfterSecond: Time keeps each second's
// text; times in and across seconds, in several zones taken in turns, far
// years and every length of fraction are written as encoding/json writes
// them.
func TestTimesAsJSONWritesThemSecondAfterSecond(t *testing.T) {
	t.Parallel()
	newYork, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	zones := []*time.Location{time.UTC, time.Local, newYork, time.FixedZone("", 5*3600+45*60), time.FixedZone("odd", -(3*3600 + 17))}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 3, 8, 6, 59, 58, 0, time.UTC) // New York's clocks go forward at 07:00 UTC
	for i := range 20_000 {
		at := base.Add(time.Duration(rng.Int64N(int64(4 * time.Second))))
		if i%7 == 0 {
			at = at.Truncate(time.Second).Add(time.Duration(rng.IntN(10)) * 100 * time.Millisecond) // short fractions
		}
		tm := at.In(zones[i%len(zones)])
		want, err := json.Marshal(tm)
		require.NoError(t, err)
		require.Equal(t, string(want), string(Time(nil, tm)), "%v", tm)
	}
	for _, tm := range []time.Time{time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC), time.Now(), time.Now().UTC()} {
		want, err := json.Marshal(tm)
		require.NoError(t, err)
		require.Equal(t, string(want), string(Time([]byte{}, tm)))
	}
	// Beyond what MarshalJSON takes, Time still writes RFC 3339's digits.
	far := time.Date(10000, 1, 1, 0, 0, 0, 5, time.UTC)
	require.Equal(t, `"`+far.Format(time.RFC3339Nano)+`"`, string(Time(nil, far)))
}

// TestThousandthsAsJSONWritesThem: milliseconds from microseconds take
// Float's shortcut, which must write what encoding/json writes, as must
// every other float near them.
func TestThousandthsAsJSONWritesThem(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(f float64) {
		want, err := json.Marshal(f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(Float(nil, f)), "%v", f)
	}
	for _, us := range []int64{1, 9, 10, 100, 999, 1000, 1001, 1010, 1100, 12345, 999999, 1_000_000, 1e15 - 1, 1e15, 1e15 + 1, 9e15} {
		check(float64(us) / 1000)
	}
	for range 200_000 {
		us := rng.Int64N(1e12)
		check(float64(us) / 1000)
		check(float64(us)/1000 + 1e-7)
		check(math.Nextafter(float64(us)/1000, 0))
		check(rng.Float64() * math.Pow(10, float64(rng.IntN(30)-10)))
	}
}

// BenchmarkFloat: a request's duration in milliseconds.
func BenchmarkFloat(b *testing.B) {
	buf := make([]byte, 0, 32)
	for b.Loop() {
		buf = Float(buf[:0], float64(1234)/1000)
	}
}

// BenchmarkTime: the access line's time, a local clock reading.
func BenchmarkTime(b *testing.B) {
	buf := make([]byte, 0, 64)
	now := time.Now()
	for b.Loop() {
		buf = Time(buf[:0], now)
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
