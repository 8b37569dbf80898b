package series_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/sketch"
	"github.com/lattice-platform/lattice/services/analytics/domain"
	"github.com/lattice-platform/lattice/services/analytics/series"
)

func rollup(start time.Time, route string, status int, latencies ...float64) domain.Rollup {
	s := sketch.New()
	for _, l := range latencies {
		s.Add(l)
	}
	return domain.Rollup{Key: domain.RollupKey{Step: domain.Hour, Start: start, Route: route, Method: "GET", StatusClass: status, Identity: "u1"},
		Requests: int64(len(latencies)), BytesIn: 10, Latency: s.Encode()}
}

func TestMergeGroupsPerBucketAndGroup(t *testing.T) {
	h0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	h1 := h0.Add(time.Hour)
	in := []domain.Rollup{
		rollup(h1, "/v1/a", 2, 5),
		rollup(h0, "/v1/b", 5, 100, 200),
		rollup(h0, "/v1/a", 2, 1, 2, 3),
	}
	byRoute, err := series.Merge(in, domain.ByRoute)
	require.NoError(t, err)
	require.Len(t, byRoute, 3)
	require.Equal(t, domain.RollupKey{Step: domain.Hour, Start: h0, Route: "/v1/a"}, byRoute[0].Key, "only the group's dimension is kept")
	require.Equal(t, "/v1/b", byRoute[1].Key.Route)
	require.Equal(t, h1, byRoute[2].Key.Start, "ordered by bucket, then key")

	all, err := series.Merge(in, domain.NoGrouping)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.EqualValues(t, 5, all[0].Requests)
	require.EqualValues(t, 20, all[0].BytesIn)
	lat, err := sketch.Decode(all[0].Latency)
	require.NoError(t, err)
	require.EqualValues(t, 5, lat.Count())
	require.InDelta(t, 200, lat.Quantile(1), 200*sketch.RelativeAccuracy)
	require.Equal(t, "5xx", domain.ByStatus.Label(in[1].Key))

	_, err = series.Merge([]domain.Rollup{{Latency: []byte{0x02, 0xff}}}, domain.NoGrouping)
	require.Error(t, err, "a corrupt stored sketch is reported, not ignored")
}
