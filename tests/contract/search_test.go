package contract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/resource/oapi"
	searchapi "github.com/lattice-platform/lattice/services/search/oapi"
)

func searchBearer(token string) searchapi.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}
}

// TestSearchAPI drives the search API through its generated client, with
// every request and response validated against openapi/search.yaml, over
// resources that went through the real pipeline.
func TestSearchAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPipeline(t)
	aliceID, alice := p.apiKeyFor(t, "alice-search@example.com", false)
	_, bob := p.apiKeyFor(t, "bob-search@example.com", false)
	_, admin := p.apiKeyFor(t, "admin-search@example.com", true)

	create := func(token, title, body string, vis oapi.Visibility, tags ...string) string {
		in := newInput(title, vis)
		in.Body = &body
		if len(tags) > 0 {
			in.Tags = &tags
		}
		r, err := p.client.CreateResourceWithResponse(ctx, nil, in, resBearer(token))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		return r.JSON201.Id.String()
	}
	var ids []string
	for i, text := range []string{
		"Otters hold hands while they sleep in kelp forests.",
		"Sea otters use stones as tools to open shellfish.",
		"River otters live in burrows near the water's edge.",
		"Beavers build dams; otters sometimes borrow their lodges.",
	} {
		ids = append(ids, create(alice, "Otter note", text, oapi.Private, "otters", []string{"even", "odd"}[i%2]))
	}
	bobs := create(bob, "Bob's otter", "Bob's private otter sighting.", oapi.Private)
	public := create(bob, "Public otter", "A public page about otters.", oapi.Public)

	search := func(token string, req searchapi.SearchRequest) *searchapi.SearchResponse {
		t.Helper()
		r, err := p.search.SearchWithResponse(ctx, req, searchBearer(token))
		require.NoError(t, err)
		return r
	}
	eventually(t, 30*time.Second, "every resource is searchable", func() bool {
		r := search(admin, searchapi.SearchRequest{Query: "otters", Limit: ptr(50)})
		return r.JSON200 != nil && len(r.JSON200.Hits) == 6
	})

	r := search(alice, searchapi.SearchRequest{Query: "otters stones tools"})
	require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
	require.Equal(t, hashembed.Model, r.JSON200.Model)
	top := r.JSON200.Hits[0]
	require.Equal(t, ids[1], top.ResourceId.String(), "the best hit shares the most words")
	require.NotNil(t, top.Ranks.Text)
	require.NotNil(t, top.Ranks.Vector)
	require.Contains(t, strings.Join(top.Highlights, " "), "<mark>stones</mark>")
	require.EqualValues(t, 1, top.Version)
	for _, h := range r.JSON200.Hits {
		require.NotEqual(t, bobs, h.ResourceId.String(), "bob's private resource never reaches alice")
	}

	// Filters.
	odd := search(alice, searchapi.SearchRequest{Query: "otters", Filters: &searchapi.Filters{Tags: &[]string{"odd"}}})
	require.Len(t, odd.JSON200.Hits, 2)
	mine := search(admin, searchapi.SearchRequest{Query: "otters", Limit: ptr(50), Filters: &searchapi.Filters{Owner: &aliceID}})
	require.Len(t, mine.JSON200.Hits, 4)
	anon := search("", searchapi.SearchRequest{Query: "otters", Mode: ptr(searchapi.Vector)})
	require.Len(t, anon.JSON200.Hits, 1)
	require.Equal(t, public, anon.JSON200.Hits[0].ResourceId.String())

	// Paging with the cursor: five hits in pages of two. (Which hit lands
	// on which page can shift while bleve merges segments, so the pages
	// are checked for what they hold, not for order.)
	allowed := map[string]bool{public: true}
	for _, id := range ids {
		allowed[id] = true
	}
	req := searchapi.SearchRequest{Query: "otters", Limit: ptr(2), Mode: ptr(searchapi.Text)}
	hits := 0
	for pages := 0; ; pages++ {
		require.Less(t, pages, 3)
		page := search(alice, req)
		require.Equal(t, http.StatusOK, page.StatusCode(), string(page.Body))
		for _, h := range page.JSON200.Hits {
			require.True(t, allowed[h.ResourceId.String()])
			hits++
		}
		if page.JSON200.NextCursor == nil {
			break
		}
		req.Cursor = page.JSON200.NextCursor
	}
	require.Equal(t, 5, hits, "alice's four and the public one")
	other := search(alice, searchapi.SearchRequest{Query: "beavers", Cursor: req.Cursor})
	require.Equal(t, http.StatusBadRequest, other.StatusCode(), "a cursor belongs to its query")

	// Index management is for admins.
	st, err := p.search.GetIndexesWithResponse(ctx, searchBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, st.StatusCode())
	st, err = p.search.GetIndexesWithResponse(ctx, searchBearer(""))
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, st.StatusCode())
	st, err = p.search.GetIndexesWithResponse(ctx, searchBearer(admin))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))
	require.Equal(t, 6, st.JSON200.Documents)
	require.EqualValues(t, 6, st.JSON200.Chunks)
	require.Equal(t, map[string]int{hashembed.Model: 6}, st.JSON200.VectorsByModel)
	require.Equal(t, "search-indexer", st.JSON200.Consumer.Name)
	require.NotNil(t, st.JSON200.LastEvent)
	rb, err := p.search.RebuildIndexesWithResponse(ctx, searchBearer(admin))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, rb.StatusCode(), string(rb.Body))
	eventually(t, 30*time.Second, "the rebuild finishes", func() bool {
		st, err := p.search.GetIndexesWithResponse(ctx, searchBearer(admin))
		return err == nil && st.JSON200 != nil && st.JSON200.Rebuild != nil && st.JSON200.Rebuild.State == searchapi.Succeeded &&
			st.JSON200.Rebuild.Progress == 100 && st.JSON200.Rebuild.Done == 6
	})
	require.Len(t, search(admin, searchapi.SearchRequest{Query: "otters", Limit: ptr(50)}).JSON200.Hits, 6, "the same index after a rebuild")
	eventually(t, 30*time.Second, "the consumer catches up", func() bool {
		st, err := p.search.GetIndexesWithResponse(ctx, searchBearer(admin))
		return err == nil && st.JSON200 != nil && st.JSON200.Consumer.Pending == 0
	})

	// Redelivering every event twice more (through the real consumer
	// path: MySQL store, object store, indexes) leaves the index as it was.
	snapshot := func() string {
		r := search(admin, searchapi.SearchRequest{Query: "otters", Limit: ptr(50), Mode: ptr(searchapi.Text)})
		var ids []string
		for _, h := range r.JSON200.Hits {
			ids = append(ids, h.ChunkId+"@"+h.ResourceId.String())
		}
		slices.Sort(ids)
		st, err := p.search.GetIndexesWithResponse(ctx, searchBearer(admin))
		require.NoError(t, err)
		return fmt.Sprint(ids, st.JSON200.Documents, st.JSON200.Chunks, st.JSON200.VectorsByModel)
	}
	before := snapshot()
	for range 2 {
		for _, e := range p.events.snapshot() {
			raw, err := json.Marshal(e)
			require.NoError(t, err)
			require.NoError(t, p.searchSvc.Apply(ctx, ports.Event{ID: e["id"].(string), Payload: raw}))
		}
	}
	require.Equal(t, before, snapshot())

	// Bad input is a 4xx problem, never a 500.
	p.searchTr.SkipRequestValidation = true
	for _, body := range []string{
		`{}`, `{"query":""}`, `{"query":"x","mode":"fuzzy"}`, `{"query":"x","weight":2}`, `{"query":"x","limit":0}`,
		`{"query":"x","limit":101}`, `{"query":"x","cursor":"!!"}`, `{"query":"x","filters":{"resource_ids":["nope"]}}`,
		`{"query":"x","filters":{"updated_since":"yesterday"}}`, `{"query":"x","extra":1}`, `not json`,
	} {
		r, err := p.search.SearchWithBodyWithResponse(ctx, "application/json", strings.NewReader(body), searchBearer(alice))
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, r.StatusCode(), body)
		require.Equal(t, "application/problem+json", r.HTTPResponse.Header.Get("Content-Type"), body)
	}
	bad, err := p.search.SearchWithResponse(ctx, searchapi.SearchRequest{Query: "x"}, searchBearer("not-a-token"))
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, bad.StatusCode())

	// An API key minted without search:read cannot search.
	ns, err := p.auth.svc.App.Login(ctx, app.LoginInput{Email: "alice-search@example.com", Password: password})
	require.NoError(t, err)
	pr, err := p.auth.svc.App.Authenticate(ctx, ns.Token)
	require.NoError(t, err)
	noSearch, err := p.auth.svc.App.CreateAPIKey(ctx, pr, app.APIKeyInput{Name: "no search", Scopes: []string{"resources:read"}})
	require.NoError(t, err)
	denied, err := p.search.SearchWithResponse(ctx, searchapi.SearchRequest{Query: "x"}, searchBearer(noSearch.Secret))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, denied.StatusCode(), string(denied.Body))
	require.Contains(t, string(denied.Body), "search:read")

	// Changes reach the index: an update (resource.updated), a file's
	// deletion (file.deleted) and a resource's (resource.deleted).
	found := func(query, id string) bool {
		r := search(alice, searchapi.SearchRequest{Query: query, Mode: ptr(searchapi.Text)})
		return r.JSON200 != nil && slices.ContainsFunc(r.JSON200.Hits, func(h searchapi.Hit) bool { return h.ResourceId.String() == id })
	}
	river := uuid.MustParse(ids[2])
	body := "River otters now share their burrows with kingfishers."
	up, err := p.client.PatchResourceWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, river, &oapi.PatchResourceParams{IfMatch: ifMatch(`"1"`)},
		oapi.ResourcePatch{Body: &body}, resBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	eventually(t, 30*time.Second, "the updated body is searchable", func() bool { return found("kingfishers", ids[2]) })
	heron := p.upload(t, alice, ids[3], "heron.md", []byte("# Herons\n\nA grey heron stalks the shallows.\n"))
	eventually(t, 30*time.Second, "the file is searchable", func() bool { return found("heron shallows", ids[3]) })
	delFile, err := p.client.DeleteFileWithResponse(ctx, uuid.MustParse(ids[3]), heron.Id, resBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, delFile.StatusCode(), string(delFile.Body))
	eventually(t, 30*time.Second, "the deleted file is no longer found", func() bool { return !found("heron shallows", ids[3]) })
	delRes, err := p.client.DeleteResourceWithResponse(ctx, river, &oapi.DeleteResourceParams{IfMatch: ifMatch(`"2"`)}, resBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, delRes.StatusCode(), string(delRes.Body))
	eventually(t, 30*time.Second, "the deleted resource is no longer found", func() bool { return !found("kingfishers", ids[2]) })
}

// BenchmarkUploadToSearchable measures the time from starting a file
// upload to the file's first hit in search, through the whole pipeline
// (resource, outbox relay, NATS container, processing, object store,
// search store and indexes), as P50/P95 over b.N uploads.
func BenchmarkUploadToSearchable(b *testing.B) {
	ctx := context.Background()
	p := startPipeline(b)
	_, key := p.apiKeyFor(b, "bench-upload@example.com", false)
	r, err := p.client.CreateResourceWithResponse(ctx, nil, newInput("Benchmark", oapi.Private), resBearer(key))
	require.NoError(b, err)
	rid := r.JSON201.Id.String()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		word := fmt.Sprintf("benchword%dx", i)
		i++
		t0 := time.Now()
		p.upload(b, key, rid, word+".md", []byte("# Note\n\nA benchmark note about "+word+".\n"))
		for {
			res, err := p.search.SearchWithResponse(ctx, searchapi.SearchRequest{Query: word, Mode: ptr(searchapi.Text)}, searchBearer(key))
			require.NoError(b, err)
			if res.JSON200 != nil && len(res.JSON200.Hits) > 0 {
				break
			}
			require.Less(b, time.Since(t0), 30*time.Second, "the upload never became searchable")
			time.Sleep(2 * time.Millisecond)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*50/100].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*95/100)].Microseconds())/1000, "p95-ms")
}
