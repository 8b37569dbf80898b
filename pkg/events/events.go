// Package events builds the CloudEvents 1.0 JSON envelopes Lattice
// publishes, around payloads from pkg/events/schema. Event ids are UUIDv7,
// so they sort by time, and double as JetStream message ids so the stream
// drops duplicates.
package events

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/pkg/events/schema"
)

// Envelope is an encoded event ready for the outbox.
type Envelope struct {
	ID      string
	Subject string // NATS subject: events.<type>
	JSON    []byte
}

// New wraps data in a CloudEvents envelope from source (e.g.
// "lattice/resource") about subject (e.g. the resource id).
func New(source string, typ schema.CloudEventType, subject string, at time.Time, data any) (Envelope, error) {
	id := uuid.Must(uuid.NewV7()).String()
	payload, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, err
	}
	var obj map[string]any
	if err := json.Unmarshal(payload, &obj); err != nil {
		return Envelope{}, err
	}
	b, err := json.Marshal(schema.CloudEvent{
		Specversion: schema.N10, Id: id, Source: source, Type: typ, Subject: &subject,
		Time: at.UTC(), Datacontenttype: schema.Applicationjson, Data: obj,
	})
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{ID: id, Subject: "events." + string(typ), JSON: b}, nil
}
