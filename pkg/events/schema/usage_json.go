package schema

import (
	"strconv"
	"time"

	"github.com/lattice-platform/lattice/pkg/platform/jsonappend"
)

// AppendJSON appends b as json.Marshal writes it, byte for byte, and
// reports whether it could: a record whose latency is not finite or whose
// time json.Marshal refuses is left to json.Marshal, which fails on it.
// The gateway writes a usage record per request, and encoding/json's
// reflection over them was 2.8 % of its CPU under load.
func (b UsageBatch) AppendJSON(dst []byte) ([]byte, bool) {
	if b.Records == nil {
		return append(dst, `{"records":null}`...), true
	}
	dst = append(dst, `{"records":[`...)
	var client, identity, method, path, route quoted
	for i, r := range b.Records {
		if !jsonappend.Finite(r.LatencyMs) || !marshallableTime(r.Time) {
			return dst, false
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"bytes_in":`...)
		dst = strconv.AppendInt(dst, r.BytesIn, 10)
		dst = append(dst, `,"bytes_out":`...)
		dst = strconv.AppendInt(dst, r.BytesOut, 10)
		if r.ClientId != nil {
			dst = append(dst, `,"client_id":`...)
			dst = client.append(dst, *r.ClientId)
		}
		if r.Identity != nil {
			dst = append(dst, `,"identity":`...)
			dst = identity.append(dst, *r.Identity)
		}
		dst = append(dst, `,"latency_ms":`...)
		dst = jsonappend.Float(dst, r.LatencyMs)
		dst = append(dst, `,"method":`...)
		dst = method.append(dst, r.Method)
		dst = append(dst, `,"path":`...)
		dst = path.append(dst, r.Path)
		dst = append(dst, `,"request_id":`...)
		dst = jsonappend.String(dst, r.RequestId, jsonappend.Std)
		dst = append(dst, `,"route":`...)
		dst = route.append(dst, r.Route)
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(r.Status), 10)
		dst = append(dst, `,"time":`...)
		dst = jsonappend.Time(dst, r.Time)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...), true
}

// quoted is where a string was last appended to a batch's JSON, so that
// the next record with the same string copies those bytes instead of
// escaping it again: a batch's records mostly share their caller, client,
// method and route, and often their path. Escaping was most of what a
// usage record cost the gateway (bench/gateway -callgrind).
type quoted struct {
	s          string
	start, end int // dst[start:end] is s quoted; end 0: nothing yet
}

func (q *quoted) append(dst []byte, s string) []byte {
	if q.end != 0 && s == q.s {
		return append(dst, dst[q.start:q.end]...)
	}
	start := len(dst)
	dst = jsonappend.String(dst, s, jsonappend.Std)
	*q = quoted{s: s, start: start, end: len(dst)}
	return dst
}

// marshallableTime reports whether time.Time's MarshalJSON takes t: a
// four-digit year.
func marshallableTime(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y <= 9999
}
