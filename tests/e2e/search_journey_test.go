package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// upload sends a file as the raw body and returns its id.
func upload(t *testing.T, base, token, resourceID, name string, content []byte) string {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/v1/resources/"+resourceID+"/files?name="+url.QueryEscape(name), bytes.NewReader(content))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, 201, resp.StatusCode, string(raw))
	var f map[string]any
	require.NoError(t, json.Unmarshal(raw, &f))
	return f["id"].(string)
}

type searchHit struct {
	ResourceID string   `json:"resource_id"`
	FileID     string   `json:"file_id"`
	Excerpt    string   `json:"excerpt"`
	Highlights []string `json:"highlights"`
	Ranks      struct {
		Text   int `json:"text"`
		Vector int `json:"vector"`
	} `json:"ranks"`
}

// search runs a query through the gateway and returns the hits.
func search(t *testing.T, base, token, query, mode string) []searchHit {
	t.Helper()
	body := fmt.Sprintf(`{"query":%q,"mode":%q,"limit":20}`, query, mode)
	req, err := http.NewRequest("POST", base+"/v1/search", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	var out struct {
		Hits []searchHit `json:"hits"`
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	return out.Hits
}

// found reports whether a hit of the resource (and file, if given) is in hits.
func found(hits []searchHit, resourceID, fileID string) bool {
	for _, h := range hits {
		if h.ResourceID == resourceID && (fileID == "" || h.FileID == fileID) {
			return true
		}
	}
	return false
}

// TestSearchJourney: upload files through the gateway and find them by
// keyword and by hybrid query; see updates and deletions take effect;
// see an unsupported file rejected; and never see another user's files.
func TestSearchJourney(t *testing.T) {
	_, base := testinfra.ServeAll(t, testinfra.PlatformEnv(t))
	const deadline = 30 * time.Second

	ada, eve := signUpAndLogin(t, base, "ada@example.com"), signUpAndLogin(t, base, "eve@example.com")

	status, res := call(t, "POST", base+"/v1/resources", ada, "application/json",
		`{"title":"Field notes","body":"Observations of the pangolin at dusk.","visibility":"private"}`)
	require.Equal(t, 201, status)
	rid := res["id"].(string)
	md := upload(t, base, ada, rid, "quokka.md", []byte("# Quokkas\n\nThe quokka smiles on Rottnest Island.\n"))
	html := upload(t, base, ada, rid, "narwhal.html", []byte(`<html><head><style>.x{}</style><script>var hiddenscriptword = 1;</script></head><body><p>The narwhal tusk is a tooth.</p></body></html>`))

	for _, c := range []struct{ query, file string }{{"quokka", md}, {"narwhal tusk", html}, {"pangolin", ""}} {
		for _, mode := range []string{"text", "hybrid"} {
			testinfra.Within(t, deadline, c.query+" is found by "+mode+" search", func() bool { return found(search(t, base, ada, c.query, mode), rid, c.file) })
		}
	}
	hits := search(t, base, ada, "quokka", "text")
	require.NotEmpty(t, hits[0].Highlights)
	require.Contains(t, hits[0].Highlights[0], "<mark>quokka</mark>")
	require.Empty(t, search(t, base, ada, "hiddenscriptword", "text"), "scripts are not indexed")

	// Another user and anonymous callers never see a private resource.
	for _, who := range []string{eve, ""} {
		for _, mode := range []string{"text", "vector", "hybrid"} {
			require.False(t, found(search(t, base, who, "quokka", mode), rid, ""), "mode %s", mode)
		}
	}

	// Jobs are visible to the owner.
	status, jobs := call(t, "GET", base+"/v1/jobs?resource_id="+rid, ada, "", "")
	require.Equal(t, 200, status)
	require.Len(t, jobs["items"], 3)
	status, overview := call(t, "GET", base+"/v1/resources/"+rid+"/overview", ada, "", "")
	require.Equal(t, 200, status)
	require.Len(t, overview["processing"].(map[string]any)["items"], 3, "the gateway's overview now includes the jobs")
	require.Contains(t, overview["analytics"], "reads_30d", "and the resource's usage")
	require.Empty(t, overview["errors"], "every part answered")

	// Update: a new version of the file replaces the old one, and a new
	// body replaces the old body.
	md2 := upload(t, base, ada, rid, "quokka-v2.md", []byte("# Wombats\n\nThe wombat digs burrows.\n"))
	status, _ = call(t, "DELETE", base+"/v1/resources/"+rid+"/files/"+md, ada, "", "")
	require.Equal(t, 204, status)
	req, _ := http.NewRequest("PATCH", base+"/v1/resources/"+rid, strings.NewReader(`{"body":"Observations of the echidna at dawn."}`))
	req.Header.Set("Content-Type", "application/merge-patch+json")
	req.Header.Set("Authorization", "Bearer "+ada)
	req.Header.Set("If-Match", `"1"`)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	testinfra.Within(t, deadline, "the new file text is found", func() bool { return found(search(t, base, ada, "wombat burrows", "text"), rid, md2) })
	testinfra.Within(t, deadline, "the old file text is gone", func() bool { return !found(search(t, base, ada, "quokka", "text"), rid, "") })
	testinfra.Within(t, deadline, "the new body is found", func() bool { return found(search(t, base, ada, "echidna", "hybrid"), rid, "") })
	testinfra.Within(t, deadline, "the old body is gone", func() bool { return !found(search(t, base, ada, "pangolin", "text"), rid, "") })

	// Visibility changes take effect.
	req, _ = http.NewRequest("PATCH", base+"/v1/resources/"+rid, strings.NewReader(`{"visibility":"public"}`))
	req.Header.Set("Content-Type", "application/merge-patch+json")
	req.Header.Set("Authorization", "Bearer "+ada)
	req.Header.Set("If-Match", `"2"`)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	testinfra.Within(t, deadline, "a public resource is found by others", func() bool { return found(search(t, base, "", "wombat", "hybrid"), rid, md2) })

	// An unsupported file ends up rejected.
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	img := upload(t, base, ada, rid, "picture.png", png)
	testinfra.Within(t, deadline, "the image is rejected", func() bool {
		status, f := call(t, "GET", base+"/v1/resources/"+rid+"/files/"+img, ada, "", "")
		return status == 200 && f["status"] == "rejected"
	})

	// Delete: everything of the resource leaves search.
	req, _ = http.NewRequest("DELETE", base+"/v1/resources/"+rid, nil)
	req.Header.Set("Authorization", "Bearer "+ada)
	req.Header.Set("If-Match", "*")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 204, resp.StatusCode)
	testinfra.Within(t, deadline, "the deleted resource is gone from search", func() bool {
		return !found(search(t, base, ada, "wombat", "hybrid"), rid, "") && !found(search(t, base, ada, "narwhal", "text"), rid, "")
	})

	// The requests made above appear in ada's usage report, and only hers.
	from := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	to := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	testinfra.Within(t, deadline, "ada's searches appear in her usage report", func() bool {
		status, report := call(t, "GET", base+"/v1/analytics/usage?granularity=day&group_by=route&from="+from+"&to="+to, ada, "", "")
		if status != 200 {
			return false
		}
		for _, p := range report["points"].([]any) {
			pt := p.(map[string]any)
			if pt["group"] == "/v1/search" && pt["requests"].(float64) >= 10 {
				return true
			}
		}
		return false
	})
	for _, who := range []string{ada, eve} {
		status, report := call(t, "GET", base+"/v1/analytics/usage?granularity=day&group_by=identity&from="+from+"&to="+to, who, "", "")
		require.Equal(t, 200, status)
		identities := map[any]bool{}
		for _, p := range report["points"].([]any) {
			identities[p.(map[string]any)["group"]] = true
		}
		require.LessOrEqual(t, len(identities), 1, "a user sees only their own usage")
	}
	status, _ = call(t, "POST", base+"/v1/audit-events/verify", ada, "application/json", `{}`)
	require.Equal(t, 403, status, "only admins read the audit log")
}
