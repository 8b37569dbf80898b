// Package sketch holds latency distributions as mergeable DDSketches
// (DataDog/sketches-go, 1 % relative accuracy): per-minute roll-ups store
// one each, and reports merge them into hours and days without the raw
// records. The encoding is the library's compact binary form.
package sketch

import (
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
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

// ZeroBin is the bin of values the sketch records as zero.
const ZeroBin = math.MinInt32

// logMapping is the index mapping of every sketch New makes.
var logMapping = func() mapping.IndexMapping {
	m, err := mapping.NewLogarithmicMapping(RelativeAccuracy)
	if err != nil {
		panic(err)
	}
	return m
}()

// Bin is the bin Add puts v in. Stores that aggregate in the database
// (ClickHouse) keep counts per bin and rebuild the exact sketch with
// FromBins.
func Bin(v float64) int32 {
	v = max(v, 0)
	if v <= logMapping.MinIndexableValue() || math.IsNaN(v) {
		return ZeroBin
	}
	return int32(logMapping.Index(min(v, logMapping.MaxIndexableValue())))
}

// FromBins rebuilds a sketch from per-bin counts (bins[i] holds counts[i]
// values; a bin may repeat).
func FromBins(bins []int32, counts []uint64) Sketch {
	s := New()
	pos := s.s.GetPositiveValueStore()
	for i, b := range bins {
		if i >= len(counts) {
			break
		}
		if b == ZeroBin {
			_ = s.s.AddWithCount(0, float64(counts[i]))
			continue
		}
		pos.AddWithCount(int(b), float64(counts[i]))
	}
	return s
}

// MergeEncoded adds an encoded sketch's values to s without building it
// first: reports merge thousands of stored sketches, and decoding each into
// its own sketch would double the work.
func (s Sketch) MergeEncoded(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if err := s.s.DecodeAndMergeWith(b); err != nil {
		return fmt.Errorf("sketch: %w", err)
	}
	return nil
}
