package contract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/resource/oapi"
)

func newInput(title string, vis oapi.Visibility) oapi.CreateResourceJSONRequestBody {
	body := "Some *markdown* text."
	ct := oapi.ResourceInputContentTypeTextmarkdown
	return oapi.CreateResourceJSONRequestBody{Title: title, Body: &body, ContentType: &ct, Visibility: &vis,
		Tags: &[]string{"Guide", "intro"}, Metadata: &oapi.Metadata{"team": "core"}}
}

func TestResourceJourney(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPlatform(t)
	owner, key := p.apiKeyFor(t, "owner@example.com", false)

	created, err := p.client.CreateResourceWithResponse(ctx, &oapi.CreateResourceParams{}, newInput("First", oapi.Internal), resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
	r := created.JSON201
	require.Equal(t, owner, r.OwnerId)
	require.Equal(t, []string{"guide", "intro"}, r.Tags, "tags are normalised")
	require.Equal(t, `"1"`, created.HTTPResponse.Header.Get("ETag"))
	require.Equal(t, "/v1/resources/"+r.Id.String(), created.HTTPResponse.Header.Get("Location"))

	got, err := p.client.GetResourceWithResponse(ctx, r.Id, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, got.StatusCode())
	require.Equal(t, "Some *markdown* text.", got.JSON200.Body)

	// Updates need If-Match: missing → 428, stale → 412.
	title := "Renamed"
	noIf, err := p.client.PatchResourceWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, r.Id, &oapi.PatchResourceParams{},
		oapi.PatchResourceApplicationMergePatchPlusJSONRequestBody{Title: &title}, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusPreconditionRequired, noIf.StatusCode())

	patched, err := p.client.PatchResourceWithBodyWithResponse(ctx, r.Id, &oapi.PatchResourceParams{IfMatch: ifMatch(`"1"`)},
		"application/merge-patch+json", strings.NewReader(`{"title":"Renamed","metadata":{"team":null,"stage":"beta"}}`), resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, patched.StatusCode(), string(patched.Body))
	require.Equal(t, "Renamed", patched.JSON200.Title)
	require.Equal(t, map[string]string{"stage": "beta"}, patched.JSON200.Metadata, "null removes a key")
	require.Equal(t, `"2"`, patched.HTTPResponse.Header.Get("ETag"))

	stale, err := p.client.PatchResourceWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, r.Id, &oapi.PatchResourceParams{IfMatch: ifMatch(`"1"`)},
		oapi.PatchResourceApplicationMergePatchPlusJSONRequestBody{Title: &title}, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusPreconditionFailed, stale.StatusCode())

	replaced, err := p.client.ReplaceResourceWithResponse(ctx, r.Id, &oapi.ReplaceResourceParams{IfMatch: ifMatch(`"2"`)},
		oapi.ReplaceResourceJSONRequestBody{Title: "Replaced"}, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, replaced.StatusCode(), string(replaced.Body))
	require.Equal(t, oapi.Private, replaced.JSON200.Visibility, "PUT resets omitted fields to defaults")
	require.Empty(t, replaced.JSON200.Tags)

	versions, err := p.client.ListVersionsWithResponse(ctx, r.Id, resBearer(key))
	require.NoError(t, err)
	require.Len(t, versions.JSON200.Items, 3)
	require.EqualValues(t, 3, versions.JSON200.Items[0].Version)
	v1, err := p.client.GetVersionWithResponse(ctx, r.Id, 1, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, "First", v1.JSON200.Title)
	missing, err := p.client.GetVersionWithResponse(ctx, r.Id, 9, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, missing.StatusCode())

	del, err := p.client.DeleteResourceWithResponse(ctx, r.Id, &oapi.DeleteResourceParams{IfMatch: ifMatch(`"3"`)}, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	gone, err := p.client.GetResourceWithResponse(ctx, r.Id, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, gone.StatusCode())

	p.requireEvents(t, []string{"resource.created", "resource.updated", "resource.updated", "resource.deleted"})
}

// requireEvents checks the outbox holds exactly these event types, in
// order, each envelope and payload valid against openapi/events.yaml.
func (p *platform) requireEvents(t *testing.T, types []string) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi/events.yaml")
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	payloadSchema := map[string]string{"resource.created": "ResourceCreated", "resource.updated": "ResourceUpdated", "resource.deleted": "ResourceDeleted",
		"file.uploaded": "FileUploaded", "file.deleted": "FileDeleted", "audit.recorded": "AuditRecord"}
	entries, err := p.resource.Outbox.Pending(context.Background(), 1000)
	require.NoError(t, err)
	var got []string
	audits := 0
	for _, e := range entries {
		var env map[string]any
		require.NoError(t, json.Unmarshal(e.Payload, &env))
		require.NoError(t, doc.Components.Schemas["CloudEvent"].Value.VisitJSON(env), string(e.Payload))
		typ := env["type"].(string)
		require.Equal(t, e.ID, env["id"], "the outbox id is the event id")
		require.NoError(t, doc.Components.Schemas[payloadSchema[typ]].Value.VisitJSON(env["data"]), "%s payload: %s", typ, e.Payload)
		if typ == "audit.recorded" {
			require.Equal(t, "audit.resource", e.Subject, "audit events go to the AUDIT stream")
			audits++
			continue
		}
		require.Equal(t, "events."+typ, e.Subject)
		got = append(got, typ)
	}
	require.Equal(t, types, got)
	require.Equal(t, len(types), audits, "each change has its audit event")
}

func TestResourceIdempotencyKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPlatform(t)
	_, key := p.apiKeyFor(t, "idem@example.com", false)
	k := "order-7"
	first, err := p.client.CreateResourceWithResponse(ctx, &oapi.CreateResourceParams{IdempotencyKey: &k}, newInput("Once", oapi.Private), resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, first.StatusCode())
	again, err := p.client.CreateResourceWithResponse(ctx, &oapi.CreateResourceParams{IdempotencyKey: &k}, newInput("Once", oapi.Private), resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, again.StatusCode())
	require.Equal(t, first.JSON201.Id, again.JSON201.Id, "the retry replays the first response")
	require.Equal(t, first.JSON201.Body, again.JSON201.Body)
	other, err := p.client.CreateResourceWithResponse(ctx, &oapi.CreateResourceParams{IdempotencyKey: &k}, newInput("Different", oapi.Private), resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, other.StatusCode())

	// Concurrent requests with one key create one resource.
	k2 := "order-8"
	var wg sync.WaitGroup
	ids := make(chan openapi_types.UUID, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.client.CreateResourceWithResponse(ctx, &oapi.CreateResourceParams{IdempotencyKey: &k2}, newInput("Race", oapi.Private), resBearer(key))
			if err == nil && res.StatusCode() == http.StatusCreated {
				ids <- res.JSON201.Id
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[openapi_types.UUID]bool{}
	for id := range ids {
		seen[id] = true
	}
	require.Len(t, seen, 1)
	p.requireEvents(t, []string{"resource.created", "resource.created"})
}

func TestConcurrentUpdatesWithOneETag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPlatform(t)
	_, key := p.apiKeyFor(t, "race@example.com", false)
	created, err := p.client.CreateResourceWithResponse(ctx, &oapi.CreateResourceParams{}, newInput("Race", oapi.Private), resBearer(key))
	require.NoError(t, err)
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			title := fmt.Sprintf("Writer %d", i)
			res, err := p.client.PatchResourceWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, created.JSON201.Id,
				&oapi.PatchResourceParams{IfMatch: ifMatch(`"1"`)}, oapi.PatchResourceApplicationMergePatchPlusJSONRequestBody{Title: &title}, resBearer(key))
			if err == nil {
				statuses <- res.StatusCode()
			}
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	require.Equal(t, map[int]int{200: 1, 412: 7}, counts)
}

// TestResourceAuthorizationMatrix runs every operation — on resources,
// versions and files — as the owner, another user, an anonymous caller and
// an admin against each visibility.
func TestResourceAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPlatform(t)
	_, ownerKey := p.apiKeyFor(t, "m-owner@example.com", false)
	_, otherKey := p.apiKeyFor(t, "m-other@example.com", false)
	_, adminKey := p.apiKeyFor(t, "m-admin@example.com", true)
	callers := map[string]string{"owner": ownerKey, "other": otherKey, "anonymous": "", "admin": adminKey}

	// want[caller][visibility] = status for read and for write.
	read := map[string]map[oapi.Visibility]int{
		"owner":     {oapi.Private: 200, oapi.Internal: 200, oapi.Public: 200},
		"other":     {oapi.Private: 404, oapi.Internal: 200, oapi.Public: 200},
		"anonymous": {oapi.Private: 404, oapi.Internal: 404, oapi.Public: 200},
		"admin":     {oapi.Private: 200, oapi.Internal: 200, oapi.Public: 200},
	}
	write := map[string]map[oapi.Visibility]int{
		"owner":     {oapi.Private: 200, oapi.Internal: 200, oapi.Public: 200},
		"other":     {oapi.Private: 404, oapi.Internal: 403, oapi.Public: 403},
		"anonymous": {oapi.Private: 404, oapi.Internal: 404, oapi.Public: 401},
		"admin":     {oapi.Private: 200, oapi.Internal: 200, oapi.Public: 200},
	}
	del := map[int]int{200: 204, 401: 401, 403: 403, 404: 404}
	upload := map[int]int{200: 201, 401: 401, 403: 403, 404: 404}
	for who, key := range callers {
		for _, vis := range []oapi.Visibility{oapi.Private, oapi.Internal, oapi.Public} {
			created, err := p.client.CreateResourceWithResponse(ctx, &oapi.CreateResourceParams{}, newInput("M", vis), resBearer(ownerKey))
			require.NoError(t, err)
			id := created.JSON201.Id
			name := who + "/" + string(vis)

			get, err := p.client.GetResourceWithResponse(ctx, id, resBearer(key))
			require.NoError(t, err)
			require.Equal(t, read[who][vis], get.StatusCode(), "get "+name)
			vers, err := p.client.ListVersionsWithResponse(ctx, id, resBearer(key))
			require.NoError(t, err)
			require.Equal(t, read[who][vis], vers.StatusCode(), "versions "+name)
			v1, err := p.client.GetVersionWithResponse(ctx, id, 1, resBearer(key))
			require.NoError(t, err)
			require.Equal(t, read[who][vis], v1.StatusCode(), "version 1 "+name)

			list, err := p.client.ListResourcesWithResponse(ctx, &oapi.ListResourcesParams{}, resBearer(key))
			require.NoError(t, err)
			require.Equal(t, 200, list.StatusCode())
			listed := false
			for _, r := range list.JSON200.Items {
				listed = listed || r.Id == id
			}
			require.Equal(t, read[who][vis] == 200, listed, "list "+name)

			fileName := "seed.txt"
			seed, err := p.client.UploadFileWithBodyWithResponse(ctx, id, &oapi.UploadFileParams{Name: &fileName}, "application/octet-stream",
				strings.NewReader("seed file"), resBearer(ownerKey))
			require.NoError(t, err)
			require.Equal(t, 201, seed.StatusCode())
			fid := seed.JSON201.Id
			files, err := p.client.ListFilesWithResponse(ctx, id, resBearer(key))
			require.NoError(t, err)
			require.Equal(t, read[who][vis], files.StatusCode(), "list files "+name)
			getFile, err := p.client.GetFileWithResponse(ctx, id, fid, resBearer(key))
			require.NoError(t, err)
			require.Equal(t, read[who][vis], getFile.StatusCode(), "get file "+name)
			dl, err := p.client.DownloadFile(ctx, id, fid, &oapi.DownloadFileParams{}, resBearer(key))
			require.NoError(t, err)
			dl.Body.Close()
			require.Equal(t, read[who][vis], dl.StatusCode, "download "+name)
			up, err := p.client.UploadFileWithBodyWithResponse(ctx, id, &oapi.UploadFileParams{Name: &fileName}, "application/octet-stream",
				strings.NewReader("more"), resBearer(key))
			require.NoError(t, err)
			require.Equal(t, upload[write[who][vis]], up.StatusCode(), "upload "+name)
			delFile, err := p.client.DeleteFileWithResponse(ctx, id, fid, resBearer(key))
			require.NoError(t, err)
			require.Equal(t, del[write[who][vis]], delFile.StatusCode(), "delete file "+name)

			title := "changed"
			patch, err := p.client.PatchResourceWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, id, &oapi.PatchResourceParams{IfMatch: ifMatch("*")},
				oapi.PatchResourceApplicationMergePatchPlusJSONRequestBody{Title: &title}, resBearer(key))
			require.NoError(t, err)
			require.Equal(t, write[who][vis], patch.StatusCode(), "patch "+name)
			put, err := p.client.ReplaceResourceWithResponse(ctx, id, &oapi.ReplaceResourceParams{IfMatch: ifMatch("*")},
				oapi.ReplaceResourceJSONRequestBody{Title: "replaced", Visibility: &vis}, resBearer(key))
			require.NoError(t, err)
			require.Equal(t, write[who][vis], put.StatusCode(), "put "+name)
			d, err := p.client.DeleteResourceWithResponse(ctx, id, &oapi.DeleteResourceParams{IfMatch: ifMatch("*")}, resBearer(key))
			require.NoError(t, err)
			require.Equal(t, del[write[who][vis]], d.StatusCode(), "delete "+name)
		}
		create, err := p.client.CreateResourceWithResponse(ctx, &oapi.CreateResourceParams{}, newInput("by "+who, oapi.Public), resBearer(key))
		require.NoError(t, err)
		want := 201
		if who == "anonymous" {
			want = 401
		}
		require.Equal(t, want, create.StatusCode(), "create "+who)
	}
}

func TestResourceListPagesAndFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPlatform(t)
	owner, key := p.apiKeyFor(t, "lister@example.com", false)
	for i := range 5 {
		in := newInput(fmt.Sprintf("R%d", i), oapi.Public)
		if i%2 == 0 {
			in.Tags = &[]string{"even"}
		}
		res, err := p.client.CreateResourceWithResponse(ctx, &oapi.CreateResourceParams{}, in, resBearer(key))
		require.NoError(t, err)
		require.Equal(t, 201, res.StatusCode())
	}
	var titles []string
	var cursor *string
	limit := 2
	for {
		page, err := p.client.ListResourcesWithResponse(ctx, &oapi.ListResourcesParams{Limit: &limit, Cursor: cursor, Owner: &owner}, resBearer(key))
		require.NoError(t, err)
		require.Equal(t, 200, page.StatusCode(), string(page.Body))
		for _, r := range page.JSON200.Items {
			titles = append(titles, r.Title)
		}
		if page.JSON200.NextCursor == nil {
			break
		}
		cursor = page.JSON200.NextCursor
	}
	require.Equal(t, []string{"R4", "R3", "R2", "R1", "R0"}, titles)

	tag := "even"
	even, err := p.client.ListResourcesWithResponse(ctx, &oapi.ListResourcesParams{Tag: &tag}, resBearer(key))
	require.NoError(t, err)
	require.Len(t, even.JSON200.Items, 3)
	meta := "team=core"
	byMeta, err := p.client.ListResourcesWithResponse(ctx, &oapi.ListResourcesParams{Metadata: &meta}, resBearer(key))
	require.NoError(t, err)
	require.Len(t, byMeta.JSON200.Items, 5)
	sort := oapi.UpdatedAt
	bad := "not-a-cursor"
	wrong, err := p.client.ListResourcesWithResponse(ctx, &oapi.ListResourcesParams{Sort: &sort, Cursor: &bad}, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, 400, wrong.StatusCode())
}

func TestResourceBadInputIsA4xxProblem(t *testing.T) {
	t.Parallel()
	p := startPlatform(t)
	_, key := p.apiKeyFor(t, "bad@example.com", false)
	p.transport.SkipRequestValidation = true
	httpc := &http.Client{Transport: p.transport}
	id := "01a20000-0000-7000-8000-000000000001"
	long := strings.Repeat("x", 300*1024)
	for _, tc := range []struct {
		name, method, path, ctype, ifMatch, body string
		want                                     int
	}{
		{"malformed JSON", "POST", "/v1/resources", "application/json", "", `{"title":`, 400},
		{"missing title", "POST", "/v1/resources", "application/json", "", `{"body":"x"}`, 400},
		{"wrong types", "POST", "/v1/resources", "application/json", "", `{"title":1,"tags":"x"}`, 400},
		{"unknown field", "POST", "/v1/resources", "application/json", "", `{"title":"t","owner_id":"me"}`, 400},
		{"bad visibility", "POST", "/v1/resources", "application/json", "", `{"title":"t","visibility":"secret"}`, 400},
		{"bad tag", "POST", "/v1/resources", "application/json", "", `{"title":"t","tags":["has space"]}`, 400},
		{"bad metadata key", "POST", "/v1/resources", "application/json", "", `{"title":"t","metadata":{"sp ace":"v"}}`, 400},
		{"body field over its cap", "POST", "/v1/resources", "application/json", "", `{"title":"t","body":"` + long + `"}`, 400},
		{"request over the size cap", "POST", "/v1/resources", "application/json", "", `{"title":"t","body":"` + strings.Repeat(long, 4) + `"}`, 413},
		{"bad idempotency key", "POST", "/v1/resources", "application/json", "", `{"title":"t"}`, 201},
		{"patch with JSON type", "PATCH", "/v1/resources/" + id, "application/json", `"1"`, `{"title":"x"}`, 415},
		{"empty patch", "PATCH", "/v1/resources/" + id, "application/merge-patch+json", `"1"`, `{}`, 400},
		{"weak ETag", "PATCH", "/v1/resources/" + id, "application/merge-patch+json", `W/"1"`, `{"title":"x"}`, 400},
		{"garbage ETag", "DELETE", "/v1/resources/" + id, "", `abc`, ``, 400},
		{"non-uuid id", "GET", "/v1/resources/123", "", "", ``, 400},
		{"version zero", "GET", "/v1/resources/" + id + "/versions/0", "", "", ``, 400},
		{"bad limit", "GET", "/v1/resources?limit=0", "", "", ``, 400},
		{"bad metadata filter", "GET", "/v1/resources?metadata=novalue", "", "", ``, 400},
		{"bad updated_since", "GET", "/v1/resources?updated_since=yesterday", "", "", ``, 400},
	} {
		req, err := http.NewRequest(tc.method, p.url+tc.path, strings.NewReader(tc.body))
		require.NoError(t, err)
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		if tc.ifMatch != "" {
			req.Header.Set("If-Match", tc.ifMatch)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := httpc.Do(req)
		require.NoError(t, err, tc.name)
		resp.Body.Close()
		require.Equal(t, tc.want, resp.StatusCode, tc.name)
		if tc.want >= 400 {
			require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), tc.name)
		}
	}
}

// TestAccessCheckAnswersForAPageOfIDs: one call tells which of up to 100
// resources the caller may read, in the order asked, leaving out what is
// private to someone else and what does not exist alike; more than 100 ids,
// none, or duplicates are refused.
func TestAccessCheckAnswersForAPageOfIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPlatform(t)
	_, alice := p.apiKeyFor(t, "alice-access@example.com", false)
	_, bob := p.apiKeyFor(t, "bob-access@example.com", false)
	create := func(token string, vis oapi.Visibility) openapi_types.UUID {
		r, err := p.client.CreateResourceWithResponse(ctx, nil, newInput("r", vis), resBearer(token))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		return r.JSON201.Id
	}
	mine, theirs, public := create(alice, oapi.Private), create(bob, oapi.Private), create(bob, oapi.Public)
	missing := uuid.Must(uuid.NewV7())
	ids := []openapi_types.UUID{theirs, public, missing, mine}

	check := func(token string, ids []openapi_types.UUID) *oapi.CheckResourceAccessResponse {
		r, err := p.client.CheckResourceAccessWithResponse(ctx, oapi.AccessCheck{Ids: ids}, resBearer(token))
		require.NoError(t, err)
		return r
	}
	require.Equal(t, []openapi_types.UUID{public, mine}, check(alice, ids).JSON200.Readable)
	require.Equal(t, []openapi_types.UUID{theirs, public}, check(bob, ids).JSON200.Readable)
	require.Equal(t, []openapi_types.UUID{public}, check("", ids).JSON200.Readable, "anonymous: public only")

	p.transport.SkipRequestValidation = true // deliberately malformed requests
	many := make([]openapi_types.UUID, 101)
	for i := range many {
		many[i] = uuid.Must(uuid.NewV7())
	}
	for name, bad := range map[string][]openapi_types.UUID{"101 ids": many, "none": {}, "duplicates": {mine, mine}} {
		r := check(alice, bad)
		require.Equal(t, http.StatusBadRequest, r.StatusCode(), name)
		require.Equal(t, "application/problem+json", r.HTTPResponse.Header.Get("Content-Type"), name)
	}
}
