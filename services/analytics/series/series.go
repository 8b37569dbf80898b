// Package series turns roll-ups into the points of a usage report: it
// merges them per bucket and group, summing counts and merging latency
// sketches. Stores that cannot merge sketches in the database use it.
package series

import (
	"fmt"
	"slices"

	"github.com/lattice-platform/lattice/pkg/sketch"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// Merge merges roll-ups into g's series points (keys coarsened by
// g), summing counts and merging latency sketches; the result is ordered
// by bucket, then key. Stores that cannot group in the database use it.
func Merge(rollups []domain.Rollup, g domain.Grouping) ([]domain.Rollup, error) {
	type acc struct {
		r   domain.Rollup
		lat sketch.Sketch
	}
	byKey := map[domain.RollupKey]*acc{}
	for _, r := range rollups {
		k := g.Coarsen(r.Key)
		a, ok := byKey[k]
		if !ok {
			a = &acc{r: domain.Rollup{Key: k}, lat: sketch.New()}
			byKey[k] = a
		}
		if err := a.lat.MergeEncoded(r.Latency); err != nil {
			return nil, fmt.Errorf("roll-up %v: %w", r.Key.Start, err)
		}
		a.r.Requests += r.Requests
		a.r.Errors += r.Errors
		a.r.BytesIn += r.BytesIn
		a.r.BytesOut += r.BytesOut
	}
	out := make([]domain.Rollup, 0, len(byKey))
	for _, a := range byKey {
		a.r.Latency = a.lat.Encode()
		out = append(out, a.r)
	}
	slices.SortFunc(out, func(x, y domain.Rollup) int { return domain.CompareKeys(x.Key, y.Key) })
	return out, nil
}
