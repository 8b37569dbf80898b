package schema

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestUsageBatchAppendsWhatJSONMarshals: byte for byte json.Marshal's
// output, for records with every field, escapes, invalid UTF-8, extreme
// numbers and zones, records in a row that share their strings, and for
// empty and nil batches.
func TestUsageBatchAppendsWhatJSONMarshals(t *testing.T) {
	t.Parallel()
	require.Equal(t, 11, reflect.TypeFor[UsageRecord]().NumField(), "a field added to the schema needs its line in AppendJSON, and here")
	str := func(s string) *string { return &s }
	at := time.Date(2026, 12, 2, 3, 4, 5, 123456789, time.UTC)
	strs := []string{"", "/v1/resources", `q"uote\back`, "<script>&amp;</script>", "\b\f\n\r\t\x00\x1f\x7f",
		"ünï ✓ 😀", "bad \xff utf-8", "sep\u2028\u2029"}
	lat := []float64{0, 0.001, 0.523, 12.5, 1e-7, 1e21, 123456.789, math.MaxFloat64, -1}
	var recs []UsageRecord
	for i, s := range strs {
		r := UsageRecord{BytesIn: int64(i) * 1000, BytesOut: math.MaxInt64 - int64(i), LatencyMs: lat[i%len(lat)],
			Method: s, Path: s + "/p", RequestId: s, Route: s, Status: 200 + i, Time: at.Add(time.Duration(i) * time.Millisecond)}
		if i%2 == 0 {
			r.ClientId, r.Identity = str(s), str("user-"+s)
		}
		switch i % 3 {
		case 0:
			r.Time = r.Time.In(time.FixedZone("", -(3*3600 + 30*60)))
		case 1:
			r.Time = r.Time.In(time.FixedZone("", 30)) // seconds in the offset
		}
		recs = append(recs, r)
	}
	// Records in a row with the same strings, as a batch mostly has:
	// their quoted forms are copied, not escaped again.
	// And strings of the same length that differ, in a row.
	var twice, alike []UsageRecord
	for _, r := range recs {
		twice = append(twice, r, r)
	}
	for i, s := range []string{"GET", "PUT", "PUT", "<&>", "GET", "get"} {
		alike = append(alike, UsageRecord{Method: s, Path: "/" + s, RequestId: s, Route: s, Time: at,
			ClientId: str(s), Identity: str(s)})
		if i == 3 {
			alike[i].ClientId, alike[i].Identity = nil, nil
		}
	}
	for _, b := range []UsageBatch{{}, {Records: []UsageRecord{}}, {Records: recs}, {Records: recs[:1]}, {Records: twice}, {Records: alike}} {
		want, err := json.Marshal(b)
		require.NoError(t, err)
		got, ok := b.AppendJSON([]byte("prefix"))
		require.True(t, ok)
		require.Equal(t, "prefix"+string(want), string(got))
	}
}

// TestUsageBatchLeavesToJSONWhatItRefuses: a latency or a time that
// json.Marshal fails on is not appended.
func TestUsageBatchLeavesToJSONWhatItRefuses(t *testing.T) {
	t.Parallel()
	for _, r := range []UsageRecord{{LatencyMs: math.NaN()}, {LatencyMs: math.Inf(1)},
		{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, {Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		_, ok := UsageBatch{Records: []UsageRecord{r}}.AppendJSON(nil)
		require.False(t, ok, "%+v", r)
		_, err := json.Marshal(UsageBatch{Records: []UsageRecord{r}})
		require.Error(t, err, "json.Marshal refuses it too")
	}
}

// BenchmarkUsageBatchJSON: a full usage message (100 records) through
// AppendJSON and through json.Marshal.
func BenchmarkUsageBatchJSON(b *testing.B) {
	id, client := "user-4bf92f3577b34da6", "client-7"
	recs := make([]UsageRecord, 100)
	for i := range recs {
		recs[i] = UsageRecord{BytesOut: 1024, LatencyMs: 0.523, Method: "GET", Path: "/v1/resources/123", RequestId: "0af7651916cd43dd8448eb211c80319c",
			Route: "/v1/resources", Status: 200, Time: time.Now().UTC(), Identity: &id, ClientId: &client}
	}
	batch := UsageBatch{Records: recs}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = batch.AppendJSON(buf[:0])
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(batch)
		}
	})
}
