// Package events builds the CloudEvents 1.0 JSON envelopes Lattice
// publishes (as ports.Event, the one event type), around payloads from
// pkg/events/schema, and decodes them for the services' event edges
// (services/<svc>/eventsapi). Event ids are UUIDv7,
// so they sort by time, and double as JetStream message ids so the stream
// drops duplicates.
package events

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// New wraps data from source (e.g. "lattice/resource") about subject (e.g.
// the resource id) in a CloudEvents envelope, as the one event type the
// outbox stores, the bus carries and subscribers receive (ports.Event).
func New(source string, typ schema.CloudEventType, subject string, at time.Time, data any) (ports.Event, error) {
	return NewWithID(uuid.Must(uuid.NewV7()).String(), source, typ, subject, at, data)
}

// NewWithID is New with a chosen id: producers without an outbox derive it
// from the content, so that a redone publish is a JetStream duplicate.
func NewWithID(id, source string, typ schema.CloudEventType, subject string, at time.Time, data any) (ports.Event, error) {
	// The data goes in first, spliced rather than marshalled as a
	// json.RawMessage: encoding/json compacts a RawMessage byte by byte,
	// which was 4 % of the gateway's CPU, whose usage events carry 100
	// records each. The event is built in a pooled buffer and copied out
	// once at its size: appended from nothing, a usage event's 28 KiB
	// grew through allocations five times its size (BenchmarkNewUsageBatch).
	buf := eventBuffers.Get().(*[]byte)
	b, err := appendData(append((*buf)[:0], dataKey...), data)
	if cap(b) <= maxPooledEvent {
		*buf = b[:0]
		defer eventBuffers.Put(buf)
	}
	if err != nil {
		return ports.Event{}, err
	}
	// The envelope's data is a JSON object (schema.CloudEvent); it is
	// checked, not decoded and encoded again: the gateway makes one for
	// every 100 requests.
	if payload := b[len(dataKey):]; len(payload) == 0 || payload[0] != '{' && string(payload) != "null" {
		return ports.Event{}, fmt.Errorf("event data is not a JSON object: %.20s", payload)
	}
	rest, err := json.Marshal(envelope{
		Specversion: schema.N10, Id: id, Source: source, Type: typ, Subject: &subject,
		Time: at.UTC(), Datacontenttype: schema.CloudEventDatacontenttypeApplicationjson,
	})
	if err != nil {
		return ports.Event{}, err
	}
	out := make([]byte, 0, len(b)+len(rest))
	out = append(append(append(out, b...), ','), rest[1:]...)
	return ports.Event{ID: id, Subject: "events." + string(typ), Payload: out}, nil
}

// eventBuffers hold an event while it is built. A buffer that grew past
// maxPooledEvent is left to the collector, so that one huge event does
// not stay pinned in the pool.
var eventBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledEvent = 1 << 20

// jsonAppender is data that appends its JSON itself, as json.Marshal
// would write it, when it can (schema.UsageBatch: one per usage message,
// a record per request through the gateway).
type jsonAppender interface {
	AppendJSON(dst []byte) ([]byte, bool)
}

// appendData appends json.Marshal's encoding of data to dst, by way of
// the data's own AppendJSON when it has one that takes it.
func appendData(dst []byte, data any) ([]byte, error) {
	if a, ok := data.(jsonAppender); ok {
		if b, ok := a.AppendJSON(dst); ok {
			return b, nil
		}
	}
	b, err := json.Marshal(data)
	return append(dst, b...), err
}

// dataKey opens the envelope; envelope's fields follow.
const dataKey = `{"data":`

// envelope is schema.CloudEvent, field for field, but its data.
type envelope struct {
	Datacontenttype schema.CloudEventDatacontenttype `json:"datacontenttype"`
	Id              string                           `json:"id"`
	Source          string                           `json:"source"`
	Specversion     schema.CloudEventSpecversion     `json:"specversion"`
	Subject         *string                          `json:"subject,omitempty"`
	Time            time.Time                        `json:"time"`
	Type            schema.CloudEventType            `json:"type"`
}

// EncodeVector packs a vector as little-endian float32 values, the
// ChunkSet wire form: exact and a quarter of the size of JSON numbers.
func EncodeVector(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(f))
	}
	return out
}

// DecodeVector is the inverse of EncodeVector; it fails on a length that
// is not a whole number of float32 values.
func DecodeVector(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("vector of %d bytes is not a whole number of float32 values", len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// Received is what a consumer needs of an event: its id, its type and the
// undecoded payload.
type Received struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	Source string          `json:"source"`
	Time   time.Time       `json:"time"`
	Data   json.RawMessage `json:"data"`
}

// Decode reads a CloudEvents envelope; an error means the message is not
// one, and redelivering it cannot help.
func Decode(payload []byte) (Received, error) {
	var r Received
	if err := json.Unmarshal(payload, &r); err != nil {
		return r, err
	}
	if r.ID == "" || r.Type == "" {
		return r, fmt.Errorf("not a CloudEvents envelope: id or type missing")
	}
	return r, nil
}

// DecodeAs is Decode that also decodes the data as T, for an edge that
// knows the event's schema; an error means redelivering cannot help.
func DecodeAs[T any](e ports.Event) (Received, T, error) {
	var data T
	r, err := Decode(e.Payload)
	if err == nil {
		err = json.Unmarshal(r.Data, &data)
	}
	return r, data, err
}

// NewAudit wraps an audit record from source ("lattice/<service>") for the
// AUDIT stream: type audit.recorded, subject audit.<service>, the record's
// target as the CloudEvents subject, and empty details rather than none.
func NewAudit(source string, at time.Time, rec schema.AuditRecord) (ports.Event, error) {
	if rec.Details == nil {
		rec.Details = &map[string]any{}
	}
	env, err := New(source, schema.CloudEventTypeAuditRecorded, rec.Target, at, rec)
	if err != nil {
		return ports.Event{}, err
	}
	env.Subject = "audit." + strings.TrimPrefix(source, "lattice/")
	return env, nil
}
