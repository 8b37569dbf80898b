package domain

import (
	"cmp"
	"strconv"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// UsageRecord is one request through the gateway (the USAGE stream).
type UsageRecord struct {
	RequestID string // unique per request: what makes ingestion idempotent
	Route     string
	Method    string
	Path      string
	Status    int
	LatencyMS float64
	BytesIn   int64
	BytesOut  int64
	Identity  string
	ClientID  string
	Time      time.Time
}

// StatusClass is the status's hundreds digit: 2 for 2xx, 5 for 5xx.
func (r UsageRecord) StatusClass() int { return r.Status / 100 }

// Failed reports whether the request counts as an error: a 5xx. Client
// mistakes (4xx) are counted by status class, not as platform errors.
func (r UsageRecord) Failed() bool { return r.Status >= 500 }

// RollupKey identifies one roll-up row: a bucket of one step (minute,
// hour or day, UTC-aligned) for one combination of dimensions.
type RollupKey struct {
	Step        Granularity
	Start       time.Time // the bucket's start
	Route       string
	Method      string
	StatusClass int
	Identity    string
	ClientID    string
}

// KeyOf is the roll-up of step g a record belongs to.
func KeyOf(r UsageRecord, g Granularity) RollupKey {
	step, _ := g.Step()
	return RollupKey{Step: g, Start: r.Time.UTC().Truncate(step), Route: r.Route, Method: r.Method,
		StatusClass: r.StatusClass(), Identity: r.Identity, ClientID: r.ClientID}
}

// Steps are the granularities every record is rolled up at.
var Steps = []Granularity{Minute, Hour, Day}

// Granularity is the step of a usage report's series.
type Granularity string

// The granularities reports offer.
const (
	Minute Granularity = "minute"
	Hour   Granularity = "hour"
	Day    Granularity = "day"
)

// Step is the granularity's length.
func (g Granularity) Step() (time.Duration, error) {
	switch g {
	case Minute:
		return time.Minute, nil
	case Hour:
		return time.Hour, nil
	case Day:
		return 24 * time.Hour, nil
	}
	return 0, fault.InvalidField("granularity", "must be minute, hour or day")
}

// MaxPoints bounds a report's series so that no range is expensive.
const MaxPoints = 10000

// CheckRange validates a report's range for a granularity: from before to,
// and no more than MaxPoints steps.
func CheckRange(from, to time.Time, g Granularity) error {
	step, err := g.Step()
	if err != nil {
		return err
	}
	if !from.Before(to) {
		return fault.InvalidField("from", "must be before to")
	}
	if to.Sub(from)/step > MaxPoints {
		return fault.InvalidField("granularity", "too many points for this range: use a coarser granularity")
	}
	return nil
}

// Rollup is one bucket's aggregate for one key. Latency is an encoded,
// mergeable sketch (pkg/sketch) of the requests' latencies in ms.
type Rollup struct {
	Key      RollupKey
	Requests int64
	Errors   int64
	BytesIn  int64
	BytesOut int64
	Latency  []byte
}

// ResourceRead reports whether a usage record is a successful read of a
// resource (GET /v1/resources/{id} or below it), and which one.
func ResourceRead(r UsageRecord) (string, bool) {
	const prefix = "/v1/resources/"
	if r.Method != "GET" || r.Status < 200 || r.Status > 299 || len(r.Path) < len(prefix)+36 || r.Path[:len(prefix)] != prefix {
		return "", false
	}
	id := r.Path[len(prefix) : len(prefix)+36]
	if len(r.Path) > len(prefix)+36 && r.Path[len(prefix)+36] != '/' {
		return "", false
	}
	for i, c := range id {
		hyphen := i == 8 || i == 13 || i == 18 || i == 23
		if hyphen != (c == '-') || !hyphen && !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return id, true
}

// ResourceReads is how often a resource was read.
type ResourceReads struct {
	ResourceID string
	Reads      int64
}

// Grouping is the dimension a usage series is split by; NoGrouping merges
// every key of a bucket into one point.
type Grouping string

// The groupings reports offer.
const (
	NoGrouping Grouping = ""
	ByRoute    Grouping = "route"
	ByIdentity Grouping = "identity"
	ByClient   Grouping = "client"
	ByStatus   Grouping = "status"
)

// ParseGrouping checks a group_by value.
func ParseGrouping(s string) (Grouping, error) {
	switch g := Grouping(s); g {
	case NoGrouping, ByRoute, ByIdentity, ByClient, ByStatus:
		return g, nil
	}
	return "", fault.InvalidField("group_by", "must be route, identity, client or status")
}

// Coarsen keeps of k its step, bucket and g's dimension: the key of the
// series point k is merged into.
func (g Grouping) Coarsen(k RollupKey) RollupKey {
	out := RollupKey{Step: k.Step, Start: k.Start}
	switch g {
	case ByRoute:
		out.Route = k.Route
	case ByIdentity:
		out.Identity = k.Identity
	case ByClient:
		out.ClientID = k.ClientID
	case ByStatus:
		out.StatusClass = k.StatusClass
	}
	return out
}

// Label names k's group in a report ("2xx" for a status class).
func (g Grouping) Label(k RollupKey) string {
	switch g {
	case ByRoute:
		return k.Route
	case ByIdentity:
		return k.Identity
	case ByClient:
		return k.ClientID
	case ByStatus:
		return strconv.Itoa(k.StatusClass) + "xx"
	}
	return ""
}

// CompareKeys orders roll-up keys by step, bucket, then dimensions.
func CompareKeys(a, b RollupKey) int {
	return cmp.Or(strings.Compare(string(a.Step), string(b.Step)), a.Start.Compare(b.Start), strings.Compare(a.Route, b.Route),
		strings.Compare(a.Method, b.Method), cmp.Compare(a.StatusClass, b.StatusClass), strings.Compare(a.Identity, b.Identity),
		strings.Compare(a.ClientID, b.ClientID))
}
