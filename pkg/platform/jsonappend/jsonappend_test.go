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
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(String(nil, s, Std)), "%q", s)

		var buf bytes.Buffer
		require.NoError(t, slog.NewJSONHandler(&buf, nil).Handle(context.Background(), slog.NewRecord(time.Time{}, slog.LevelInfo, s, 0)))
		line := strings.TrimSuffix(buf.String(), "}\n")
		require.Equal(t, `{"level":"INFO","msg":`+string(String(nil, s, Slog)), line, "%q", s)
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
