// Package latency holds what the benchmark programs compute from the
// latencies they measure.
package latency

import (
	"slices"
	"time"
)

// Quantile is the q-quantile of ds (0 < q ≤ 1) by the nearest rank, so
// that it is a latency that was measured; ds is sorted in place; 0 for
// none.
func Quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if !slices.IsSorted(ds) {
		slices.Sort(ds)
	}
	i := int(q*float64(len(ds))+0.999999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
