package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

func TestRollupKeysAndRanges(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 12, 34, 56, 789, time.FixedZone("CET", 3600))
	r := domain.UsageRecord{Route: "/v1/resources", Method: "GET", Status: 503, Identity: "u1", ClientID: "c1", Time: at}
	k := domain.KeyOf(r, domain.Minute)
	require.Equal(t, time.Date(2026, 11, 25, 11, 34, 0, 0, time.UTC), k.Start)
	require.Equal(t, 5, k.StatusClass)
	require.Equal(t, time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC), domain.KeyOf(r, domain.Hour).Start)
	require.Equal(t, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), domain.KeyOf(r, domain.Day).Start)
	require.True(t, r.Failed())
	r.Status = 404
	require.False(t, r.Failed(), "client mistakes are not platform errors")
	require.Equal(t, 4, domain.KeyOf(r, domain.Minute).StatusClass)

	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, domain.CheckRange(from, from.AddDate(0, 0, 6), domain.Minute))
	require.True(t, fault.Of(domain.CheckRange(from, from.AddDate(0, 0, 30), domain.Minute), fault.Invalid))
	require.NoError(t, domain.CheckRange(from, from.AddDate(1, 0, 0), domain.Day))
	require.True(t, fault.Of(domain.CheckRange(from, from, domain.Hour), fault.Invalid))
	require.True(t, fault.Of(domain.CheckRange(from, from.Add(time.Hour), "week"), fault.Invalid))
}

func TestResourceRead(t *testing.T) {
	t.Parallel()
	id := "01a213df-d2d8-7d8c-9125-7baeb29e04ae"
	for path, want := range map[string]bool{
		"/v1/resources/" + id:                               true,
		"/v1/resources/" + id + "/files/x/content":          true,
		"/v1/resources/" + id + "x":                         false,
		"/v1/resources/not-a-uuid-at-all-not-a-uuid-at-all": false,
		"/v1/resources":                                     false,
		"/v1/search":                                        false,
	} {
		got, ok := domain.ResourceRead(domain.UsageRecord{Method: "GET", Status: 200, Path: path})
		require.Equal(t, want, ok, path)
		if ok {
			require.Equal(t, id, got)
		}
	}
	_, ok := domain.ResourceRead(domain.UsageRecord{Method: "GET", Status: 404, Path: "/v1/resources/" + id})
	require.False(t, ok, "a failed read is not a read")
	_, ok = domain.ResourceRead(domain.UsageRecord{Method: "PATCH", Status: 200, Path: "/v1/resources/" + id})
	require.False(t, ok)
}
