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
			dst = jsonappend.String(dst, *r.ClientId, jsonappend.Std)
		}
		if r.Identity != nil {
			dst = append(dst, `,"identity":`...)
			dst = jsonappend.String(dst, *r.Identity, jsonappend.Std)
		}
		dst = append(dst, `,"latency_ms":`...)
		dst = jsonappend.Float(dst, r.LatencyMs)
		dst = append(dst, `,"method":`...)
		dst = jsonappend.String(dst, r.Method, jsonappend.Std)
		dst = append(dst, `,"path":`...)
		dst = jsonappend.String(dst, r.Path, jsonappend.Std)
		dst = append(dst, `,"request_id":`...)
		dst = jsonappend.String(dst, r.RequestId, jsonappend.Std)
		dst = append(dst, `,"route":`...)
		dst = jsonappend.String(dst, r.Route, jsonappend.Std)
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(r.Status), 10)
		dst = append(dst, `,"time":`...)
		dst = jsonappend.Time(dst, r.Time)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...), true
}

// marshallableTime reports whether time.Time's MarshalJSON takes t: a
// four-digit year.
func marshallableTime(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y <= 9999
}
