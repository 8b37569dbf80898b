package events_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// The one event type goes out and comes back: what New builds is what an
// edge decodes, header and typed data.
func TestNewThenDecodeAs(t *testing.T) {
	at := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	e, err := events.New("lattice/processing", schema.CloudEventTypeFileRejected, "f1", at,
		schema.FileRejected{ResourceId: "r1", FileId: "f1", Reason: "corrupt"})
	require.NoError(t, err)
	require.Equal(t, "events.file.rejected", e.Subject)
	h, data, err := events.DecodeAs[schema.FileRejected](e)
	require.NoError(t, err)
	require.Equal(t, e.ID, h.ID)
	require.Equal(t, "file.rejected", h.Type)
	require.Equal(t, "lattice/processing", h.Source)
	require.True(t, at.Equal(h.Time))
	require.Equal(t, schema.FileRejected{ResourceId: "r1", FileId: "f1", Reason: "corrupt"}, data)

	for name, payload := range map[string]string{
		"not JSON":       "{",
		"no id":          `{"type":"file.rejected","data":{}}`,
		"data of a type": `{"id":"1","type":"file.rejected","data":"text"}`,
	} {
		_, _, err := events.DecodeAs[schema.FileRejected](ports.Event{ID: "x", Payload: []byte(payload)})
		require.Error(t, err, name)
	}
}

// TestTheEnvelopeIsTheSchemas: the envelope, encoded without decoding its
// data again, decodes into schema.CloudEvent with every field and the data
// intact; data that is not an object is refused, as the schema says.
func TestTheEnvelopeIsTheSchemas(t *testing.T) {
	at := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	e, err := events.NewWithID("id-1", "lattice/gateway", schema.CloudEventTypeGatewayRequest, "r1", at,
		schema.UsageRecord{Route: "/v1/resources", Method: "GET", Path: "/v1/resources/x", Status: 200, RequestId: "r1", Time: at})
	require.NoError(t, err)
	var ce schema.CloudEvent
	dec := json.NewDecoder(bytes.NewReader(e.Payload))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&ce))
	require.Equal(t, "id-1", ce.Id)
	require.Equal(t, schema.N10, ce.Specversion)
	require.Equal(t, schema.CloudEventDatacontenttypeApplicationjson, ce.Datacontenttype)
	require.Equal(t, "r1", *ce.Subject)
	require.True(t, at.Equal(ce.Time))
	require.Equal(t, "/v1/resources/x", ce.Data["path"])
	require.EqualValues(t, 200, ce.Data["status"])

	for _, data := range []any{"text", 42, []string{"a"}} {
		_, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequest, "r1", at, data)
		require.ErrorContains(t, err, "not a JSON object")
	}
}

// TestTheEnvelopeIsEncodedAsBefore: splicing the data in gives the bytes
// that encoding/json gives for the whole envelope, HTML-escaped characters
// and all, so consumers and content-derived ids see no change.
func TestTheEnvelopeIsEncodedAsBefore(t *testing.T) {
	at := time.Date(2026, 11, 29, 3, 0, 0, 123456789, time.FixedZone("CET", 3600))
	name := "<b>&ünï\"cödé\"</b>"
	for _, data := range []any{
		schema.UsageBatch{Records: []schema.UsageRecord{{Route: "/v1/resources", Method: "GET", Path: "/v1/x?q=<a>&b", Identity: &name, Time: at}}},
		json.RawMessage(` { "a" : [1, 2, {"b": null}] } `),
		nil,
	} {
		e, err := events.NewWithID("id-1", "lattice/gateway", schema.CloudEventTypeGatewayRequests, "s<1>", at, data)
		require.NoError(t, err)
		payload, err := json.Marshal(data)
		require.NoError(t, err)
		subject := "s<1>"
		want, err := json.Marshal(struct {
			Data            json.RawMessage                  `json:"data"`
			Datacontenttype schema.CloudEventDatacontenttype `json:"datacontenttype"`
			Id              string                           `json:"id"`
			Source          string                           `json:"source"`
			Specversion     schema.CloudEventSpecversion     `json:"specversion"`
			Subject         *string                          `json:"subject,omitempty"`
			Time            time.Time                        `json:"time"`
			Type            schema.CloudEventType            `json:"type"`
		}{payload, schema.CloudEventDatacontenttypeApplicationjson, "id-1", "lattice/gateway", schema.N10, &subject, at.UTC(), schema.CloudEventTypeGatewayRequests})
		require.NoError(t, err)
		require.Equal(t, string(want), string(e.Payload))
		require.True(t, json.Valid(e.Payload))
	}
}

// BenchmarkNewUsageBatch encodes one of the gateway's usage events: 100
// records, as the recorder sends them.
func BenchmarkNewUsageBatch(b *testing.B) {
	at := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	who := "client:bench"
	records := make([]schema.UsageRecord, 100)
	for i := range records {
		records[i] = schema.UsageRecord{Route: "/v1/resources", Method: "GET", Path: "/v1/resources/0192d6a4-7f1e-7b3c-9a5d-2e8f4c6b1a90",
			RequestId: "0192d6a4-7f1e-7b3c-9a5d-2e8f4c6b1a90", Identity: &who, ClientId: &who, Status: 200, BytesOut: 1024, LatencyMs: 0.42, Time: at}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequests, "r", at, schema.UsageBatch{Records: records}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEventsShareNoBytes: events are built in pooled buffers, and each
// payload is a copy of its own: building more events, a huge one and one
// whose data cannot be encoded among them, leaves an earlier payload as it
// was, and no payload has room that a later append could write into.
func TestEventsShareNoBytes(t *testing.T) {
	at := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	batch := func(n int, path string, latency float64) schema.UsageBatch {
		records := make([]schema.UsageRecord, n)
		for i := range records {
			records[i] = schema.UsageRecord{Route: "/v1/resources", Method: "GET", Path: path, Status: 200, LatencyMs: latency, Time: at}
		}
		return schema.UsageBatch{Records: records}
	}
	first, err := events.NewWithID("id-1", "lattice/gateway", schema.CloudEventTypeGatewayRequests, "s", at, batch(100, "/v1/resources/a", 0.5))
	require.NoError(t, err)
	want := string(first.Payload)
	require.Equal(t, len(first.Payload), cap(first.Payload))

	huge, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequests, "s", at, batch(20000, "/v1/resources/b", 1))
	require.NoError(t, err)
	require.Greater(t, len(huge.Payload), 1<<20) // past what the pool keeps
	_, err = events.New("lattice/gateway", schema.CloudEventTypeGatewayRequests, "s", at, batch(3, "/v1/resources/c", math.NaN()))
	require.Error(t, err) // json.Marshal's refusal of NaN, after AppendJSON declined
	for i := range 20 {
		e, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequests, "s", at, batch(100-i, "/v1/resources/d", 2))
		require.NoError(t, err)
		var ce schema.CloudEvent
		require.NoError(t, json.Unmarshal(e.Payload, &ce))
		require.Len(t, ce.Data["records"], 100-i)
	}
	require.Equal(t, want, string(first.Payload))
	var ce schema.CloudEvent
	require.NoError(t, json.Unmarshal(huge.Payload, &ce))
	require.Len(t, ce.Data["records"], 20000)
}
