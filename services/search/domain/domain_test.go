package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/search/domain"
)

func TestCanReadFollowsTheResourceRules(t *testing.T) {
	t.Parallel()
	owner := domain.Caller{Subject: "u1", Scopes: []string{domain.ScopeResourcesRead}}
	other := domain.Caller{Subject: "u2", Scopes: []string{domain.ScopeResourcesRead}}
	noScope := domain.Caller{Subject: "u1"}
	admin := domain.Caller{Subject: "root", Scopes: []string{domain.ScopeResourcesAdmin}}
	anon := domain.Caller{}
	doc := func(vis string) domain.Document {
		return domain.Document{ResourceID: "r", OwnerID: "u1", Visibility: vis, Version: 1}
	}
	cases := []struct {
		d    domain.Document
		want map[string]bool // caller → can read
	}{
		{doc(domain.Public), map[string]bool{"owner": true, "other": true, "noScope": true, "admin": true, "anon": true}},
		{doc(domain.Internal), map[string]bool{"owner": true, "other": true, "admin": true}},
		{doc(domain.Private), map[string]bool{"owner": true, "admin": true}},
		{domain.Document{ResourceID: "r", Visibility: domain.Public}, map[string]bool{"admin": true}}, // placeholder
		{domain.Document{ResourceID: "r", OwnerID: "u1", Visibility: domain.Public, Version: 2, Deleted: true}, map[string]bool{}},
	}
	callers := map[string]domain.Caller{"owner": owner, "other": other, "noScope": noScope, "admin": admin, "anon": anon}
	for i, c := range cases {
		for name, caller := range callers {
			require.Equal(t, c.want[name], caller.CanRead(c.d), "case %d, caller %s", i, name)
		}
	}
}

func TestFiltersMatch(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	d := domain.Document{ResourceID: "r1", OwnerID: "u1", Tags: []string{"a", "b"}, Metadata: map[string]string{"lang": "en"}, UpdatedAt: at}
	require.True(t, domain.Filters{}.Matches(d))
	require.True(t, domain.Filters{Owner: "u1", Tags: []string{"a", "b"}, Metadata: map[string]string{"lang": "en"},
		ResourceIDs: []string{"r0", "r1"}, UpdatedSince: at}.Matches(d))
	for _, f := range []domain.Filters{
		{Owner: "u2"}, {Tags: []string{"a", "c"}}, {Metadata: map[string]string{"lang": "fr"}},
		{Metadata: map[string]string{"missing": ""}}, {ResourceIDs: []string{"r2"}}, {UpdatedSince: at.Add(time.Second)},
	} {
		require.False(t, f.Matches(d), "%+v", f)
	}
}

func TestFuseIsWeightedReciprocalRankFusion(t *testing.T) {
	t.Parallel()
	text := []domain.Ranked{{ChunkID: "a", Score: 9, Highlights: []string{"<mark>a</mark>"}}, {ChunkID: "b"}, {ChunkID: "c"}}
	vector := []domain.Ranked{{ChunkID: "c"}, {ChunkID: "d"}, {ChunkID: "a"}}
	got := domain.Fuse(text, vector, 0.5)
	require.Len(t, got, 4)
	// a: .5/61 + .5/63; c: .5/63 + .5/61 — a tie, broken by id.
	require.Equal(t, []string{"a", "c", "b", "d"}, []string{got[0].ChunkID, got[1].ChunkID, got[2].ChunkID, got[3].ChunkID})
	require.InDelta(t, 0.5/61+0.5/63, got[0].Score, 1e-12)
	require.Equal(t, 1, got[0].TextRank)
	require.Equal(t, 3, got[0].VectorRank)
	require.Equal(t, []string{"<mark>a</mark>"}, got[0].Highlights)
	require.Equal(t, 0, got[3].TextRank, "d was not ranked by text")

	textOnly := domain.Fuse(text, vector, 1)
	require.Equal(t, "a", textOnly[0].ChunkID)
	require.Equal(t, "b", textOnly[1].ChunkID)
	vectorOnly := domain.Fuse(text, vector, 0)
	require.Equal(t, "c", vectorOnly[0].ChunkID)
	require.Equal(t, "d", vectorOnly[1].ChunkID)
}

func TestQueryValidation(t *testing.T) {
	t.Parallel()
	ok := domain.Query{Text: "x", Mode: domain.ModeHybrid, Weight: 0.5, Limit: 10}
	require.NoError(t, ok.Validate())
	for _, mutate := range []func(*domain.Query){
		func(q *domain.Query) { q.Text = "" },
		func(q *domain.Query) { q.Mode = "fuzzy" },
		func(q *domain.Query) { q.Weight = 1.5 },
		func(q *domain.Query) { q.Limit = 0 },
		func(q *domain.Query) { q.Offset = domain.MaxDepth },
	} {
		q := ok
		mutate(&q)
		require.True(t, fault.Of(q.Validate(), fault.Invalid), "%+v", q)
	}
}
