package jobstore

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/processing/domain"
)

// The remembered jobs stay within maxSeen however many a store writes; a
// job written again is remembered at its new revision without evicting
// another.
func TestRememberedJobsAreBounded(t *testing.T) {
	s := &Store{seen: map[string]seenJob{}}
	for i := range maxSeen + 10 {
		id := fmt.Sprintf("job-%d", i)
		s.remember(id, domain.Job{ID: id}, uint64(i+1))
	}
	require.Len(t, s.seen, maxSeen)

	var kept string
	for id := range s.seen {
		kept = id
		break
	}
	s.remember(kept, domain.Job{ID: kept, Progress: 50}, 9999)
	require.Len(t, s.seen, maxSeen)
	got, ok := s.recall(kept)
	require.True(t, ok)
	require.Equal(t, seenJob{job: domain.Job{ID: kept, Progress: 50}, rev: 9999}, got)
}
