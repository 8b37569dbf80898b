// Package sketch holds latency distributions as mergeable DDSketches
// (DataDog/sketches-go, 1 % relative accuracy): per-minute roll-ups store
// one each, and reports merge them into hours and days without the raw
// records. The encoding is the library's compact binary form.
package sketch

import (
	"fmt"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// RelativeAccuracy bounds every quantile's error relative to its value.
const RelativeAccuracy = 0.01

// Sketch is a latency distribution.
type Sketch struct{ s *ddsketch.DDSketch }

// New returns an empty sketch.
func New() Sketch {
	s, err := ddsketch.LogUnboundedDenseDDSketch(RelativeAccuracy)
	if err != nil {
		panic(err) // only for an accuracy outside (0,1)
	}
	return Sketch{s: s}
}

// Decode reads an encoded sketch; empty input is an empty sketch.
func Decode(b []byte) (Sketch, error) {
	if len(b) == 0 {
		return New(), nil
	}
	s, err := ddsketch.DecodeDDSketch(b, store.DenseStoreConstructor, nil)
	if err != nil {
		return Sketch{}, fmt.Errorf("sketch: %w", err)
	}
	return Sketch{s: s}, nil
}

// Encode writes the sketch.
func (s Sketch) Encode() []byte {
	var b []byte
	s.s.Encode(&b, false)
	return b
}

// Add records one value (negative values are recorded as zero: latencies
// cannot be negative, and a clock step must not fail ingestion).
func (s Sketch) Add(v float64) { _ = s.s.Add(max(v, 0)) }

// Merge adds other's values to s.
func (s Sketch) Merge(other Sketch) error { return s.s.MergeWith(other.s) }

// Count is the number of values.
func (s Sketch) Count() float64 { return s.s.GetCount() }

// Quantile is the value at q (0–1); 0 for an empty sketch.
func (s Sketch) Quantile(q float64) float64 {
	if s.s.IsEmpty() {
		return 0
	}
	v, err := s.s.GetValueAtQuantile(q)
	if err != nil {
		return 0
	}
	return v
}
