package events_test

import (
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
