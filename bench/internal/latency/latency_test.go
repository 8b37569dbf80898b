package latency

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestQuantile: nearest rank, so every quantile is a latency that was
// measured.
func TestQuantile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	require.Equal(t, time.Duration(50), Quantile(ds, 0.5))
	require.Equal(t, time.Duration(99), Quantile(ds, 0.99))
	require.Equal(t, time.Duration(100), Quantile(ds, 0.999))
	require.Equal(t, time.Duration(100), Quantile(ds, 1))
	require.Equal(t, time.Duration(1), Quantile(ds, 0.001))
	require.Zero(t, Quantile(nil, 0.99))
}
