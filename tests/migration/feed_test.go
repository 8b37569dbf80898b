package migration_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// searchFinds reports whether a text search through the gateway finds the
// resource with the given title, and its Lattice id.
func searchFinds(t *testing.T, gateway, token, query, title string) (string, bool) {
	t.Helper()
	status, res := call(t, "POST", gateway+"/v1/search", token, map[string]any{"query": query, "mode": "text", "limit": 20})
	require.Equal(t, http.StatusOK, status, "%v", res)
	for _, h := range res["hits"].([]any) {
		hit := h.(map[string]any)
		id := hit["resource_id"].(string)
		status, r := call(t, "GET", gateway+"/v1/resources/"+id, token, nil)
		if status == http.StatusOK && r["title"] == title {
			return id, true
		}
	}
	return "", false
}

// TestMonolithWritesReachLatticeSearch: during the search phase the
// monolith still takes the writes, and sends each to Lattice's change
// feed. A resource created, changed and deleted in the monolith is found,
// found by its new words, and gone in Lattice's search; the feed takes a
// change once however often it comes, refuses an unknown owner, and is for
// admins only.
func TestMonolithWritesReachLatticeSearch(t *testing.T) {
	m := startMonolith(t, "--users", "3", "--resources-per-user", "1", "--files-per-resource", "0")
	env := testinfra.PlatformEnv(t)
	importUsers(t, m, env)
	_, gateway := testinfra.ServeAll(t, env)
	status, session := call(t, "POST", gateway+"/v1/sessions", "", map[string]string{"email": m.Seeded.Users[0].Email, "password": m.Seeded.Users[0].Password})
	require.Equal(t, http.StatusCreated, status, "%v", session)
	admin := session["token"].(string)
	status, key := call(t, "POST", gateway+"/v1/api-keys", admin, map[string]any{"name": "monolith change feed", "scopes": []string{"resources:admin"}})
	require.Equal(t, http.StatusCreated, status, "%v", key)
	tokenFile := filepath.Join(t.TempDir(), "feed-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(key["secret"].(string)), 0o600))
	m.restart(t, "MONOLITH_CHANGE_FEED_URL="+gateway+"/v1/legacy-resources", "MONOLITH_CHANGE_FEED_TOKEN_FILE="+tokenFile)

	owner := monolithLogin(t, m, 1)
	start := time.Now()
	status, created := call(t, "POST", m.URL+"/v1/resources", owner, map[string]any{
		"title": "Field notes", "body": "a quokka named zanzibar", "visibility": "internal", "tags": []string{"wildlife"}, "metadata": map[string]string{"n": "1"}})
	require.Equal(t, http.StatusCreated, status, "%v", created)
	var id string
	testinfra.Within(t, 30*time.Second, "search finds the monolith's new resource", func() bool {
		var ok bool
		id, ok = searchFinds(t, gateway, admin, "zanzibar", "Field notes")
		return ok
	})
	t.Logf("figure: a resource created in the monolith was found by Lattice's search after %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	legacyID := jsonNumber(created["id"])
	status, patched := call(t, "PATCH", m.URL+"/v1/resources/"+legacyID, owner, map[string]any{"title": "Field notes, revised", "body": "a wombat called tasmin"})
	require.Equal(t, http.StatusOK, status, "%v", patched)
	testinfra.Within(t, 30*time.Second, "search finds the change", func() bool {
		found, ok := searchFinds(t, gateway, admin, "tasmin", "Field notes, revised")
		return ok && found == id
	})
	t.Logf("figure: a change in the monolith was found by Lattice's search after %s", time.Since(start).Round(time.Millisecond))
	_, stale := searchFinds(t, gateway, admin, "zanzibar", "Field notes")
	require.False(t, stale, "the old words are gone with the old version")

	// The feed itself: a repeat and an older change change nothing; an
	// unknown owner and a caller without the admin scope are refused.
	feed := func(token, legacyID string, body map[string]any) (int, http.Header) {
		var h http.Header
		status, _ := callObserving(t, "PUT", gateway+"/v1/legacy-resources/"+legacyID, token, body, func(seen http.Header) { h = seen })
		return status, h
	}
	older := map[string]any{"owner": "2", "title": "An older state", "updated_at": "2001-01-01T00:00:00Z"}
	status, h := feed(key["secret"].(string), legacyID, older)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "unchanged", h.Get("X-Lattice-Sync"), "an older change never undoes a newer")
	status, r := call(t, "GET", gateway+"/v1/resources/"+id, admin, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "Field notes, revised", r["title"])
	status, _ = feed(key["secret"].(string), "9999", map[string]any{"owner": "4242", "title": "Nobody's", "updated_at": time.Now().Format(time.RFC3339)})
	require.Equal(t, http.StatusBadRequest, status, "an owner never imported")
	status, _ = feed(monolithLatticeToken(t, gateway, m, 2), "9999", older)
	require.Equal(t, http.StatusForbidden, status, "a user without the admin scope")
	status, _ = feed("", "9999", older)
	require.Equal(t, http.StatusUnauthorized, status)

	status, _ = call(t, "DELETE", m.URL+"/v1/resources/"+legacyID, owner, nil)
	require.Equal(t, http.StatusNoContent, status)
	testinfra.Within(t, 30*time.Second, "the deletion reaches Lattice", func() bool {
		status, _ := call(t, "GET", gateway+"/v1/resources/"+id, admin, nil)
		return status == http.StatusNotFound
	})
	testinfra.Within(t, 30*time.Second, "search forgets it", func() bool {
		_, found := searchFinds(t, gateway, admin, "tasmin", "Field notes, revised")
		return !found
	})
	status, _ = call(t, "DELETE", gateway+"/v1/legacy-resources/"+legacyID, key["secret"].(string), nil)
	require.Equal(t, http.StatusNoContent, status, "deleting again is harmless")
}

// jsonNumber is a JSON number (a decoded float64) as a decimal string.
func jsonNumber(v any) string { return json.Number(jsonText(v)).String() }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// monolithLatticeToken is the i-th seeded user's Lattice session token.
func monolithLatticeToken(t *testing.T, gateway string, m *monolith, i int) string {
	t.Helper()
	status, session := call(t, "POST", gateway+"/v1/sessions", "", map[string]string{"email": m.Seeded.Users[i].Email, "password": m.Seeded.Users[i].Password})
	require.Equal(t, http.StatusCreated, status, "%v", session)
	return session["token"].(string)
}
