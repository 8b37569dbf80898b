package events_test

import (
	"bytes"
	"encoding/json"
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
	require.Equal(t, schema.Applicationjson, ce.Datacontenttype)
	require.Equal(t, "r1", *ce.Subject)
	require.True(t, at.Equal(ce.Time))
	require.Equal(t, "/v1/resources/x", ce.Data["path"])
	require.EqualValues(t, 200, ce.Data["status"])

	for _, data := range []any{"text", 42, []string{"a"}} {
		_, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequest, "r1", at, data)
		require.ErrorContains(t, err, "not a JSON object")
	}
}
