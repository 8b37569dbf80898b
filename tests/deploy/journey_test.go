package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// caller makes JSON calls with one HTTP client and keeps each call's
// duration (the journey's latency figures).
type caller struct {
	t      *testing.T
	client *http.Client
	mu     sync.Mutex
	took   []time.Duration
}

// do sends body (JSON unless contentType says otherwise) and decodes the
// JSON answer into a map.
func (c *caller) do(method, url, token, contentType string, body []byte, header ...string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(c.t, err)
	if contentType == "" && body != nil {
		contentType = "application/json"
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	began := time.Now()
	resp, err := c.client.Do(req)
	require.NoError(c.t, err, "%s %s", method, url)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	c.mu.Lock()
	c.took = append(c.took, time.Since(began))
	c.mu.Unlock()
	var out map[string]any
	if len(raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		require.NoError(c.t, json.Unmarshal(raw, &out), "%s %s: %s", method, url, raw)
	}
	return resp.StatusCode, out
}

func (c *caller) json(method, url, token string, body any, header ...string) (int, map[string]any) {
	c.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		raw, err = json.Marshal(body)
		require.NoError(c.t, err)
	}
	return c.do(method, url, token, "", raw, header...)
}

// p95 of the calls made so far.
func (c *caller) p95() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := slices.Clone(c.took)
	slices.Sort(s)
	return s[(len(s)*95+99)/100-1]
}

// createAdmin runs `lattice user create-admin` in an auth container,
// with auth's own settings and secrets, the password on standard input.
func (d *deployment) createAdmin(t *testing.T, email, password string) {
	t.Helper()
	argv := append(composeCommand(), "-p", d.project, "-f", "../../deploy/compose/compose.yaml", "-f", "testdata/compose.test.yaml",
		"exec", "-T", "auth-1", "/lattice", "user", "create-admin", "--email", email, "--name", "Ops")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Stdin = d.env, strings.NewReader(password+"\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "created admin "+email)
}

// session signs a user up (or, for an existing admin, only logs in) and
// returns the session token.
func session(c *caller, base, email string, signUp bool) string {
	c.t.Helper()
	const password = "a long enough password"
	if signUp {
		status, body := c.json("POST", base+"/v1/users", "", map[string]string{"email": email, "password": password, "display_name": "U"})
		require.Equal(c.t, http.StatusCreated, status, "%v", body)
	}
	status, login := c.json("POST", base+"/v1/sessions", "", map[string]string{"email": email, "password": password})
	require.Equal(c.t, http.StatusCreated, status, "%v", login)
	return login["token"].(string)
}

type hit struct {
	ResourceID string `json:"resource_id"`
	FileID     string `json:"file_id"`
}

// searchHits runs a search at base (a gateway, or one search replica) and
// returns its hits.
func searchHits(t *testing.T, client *http.Client, base, token, query, mode string) []hit {
	t.Helper()
	hits, err := searchAt(client, base, token, query, mode)
	require.NoError(t, err)
	return hits
}

// searchAt is searchHits for goroutines other than the test's: it returns
// what went wrong instead of failing the test.
func searchAt(client *http.Client, base, token, query, mode string) ([]hit, error) {
	body := fmt.Sprintf(`{"query":%q,"mode":%q,"limit":50}`, query, mode)
	req, err := http.NewRequest("POST", base+"/v1/search", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("search: %s", resp.Status)
	}
	var out struct{ Hits []hit }
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out.Hits, err
}

// count is how many hits match.
func count(hits []hit, match func(hit) bool) int {
	n := 0
	for _, h := range hits {
		if match(h) {
			n++
		}
	}
	return n
}

// ofFile matches the hits of one file; ofResource, of one resource.
func ofFile(id string) func(hit) bool     { return func(h hit) bool { return h.FileID == id } }
func ofResource(id string) func(hit) bool { return func(h hit) bool { return h.ResourceID == id } }

// TestTheJourneyThroughTheGatewayContainer runs a user's journey through
// the gateway container of the compose deployment: every service in its
// own container, replicas behind the gateway's pools, mutual TLS between
// them and one NATS user each.
func TestTheJourneyThroughTheGatewayContainer(t *testing.T) {
	d := deploy(t)
	c := &caller{t: t, client: d.Public}
	gw := d.Gateway
	// Generous: the deployment is shared, and earlier tests may have left
	// work queued (indexing, usage and audit records) that drains first.
	const deadline = 3 * time.Minute

	// Sign-up and login; an operator makes an admin with the CLI.
	ada := session(c, gw, "ada@journey.example", true)
	d.createAdmin(t, "ops@journey.example", "a long enough password")
	ops := session(c, gw, "ops@journey.example", false)

	// OAuth client credentials: the admin registers a client, which gets
	// a token and reads with it.
	status, created := c.json("POST", gw+"/oauth2/clients", ops, map[string]any{"name": "reporting", "type": "confidential",
		"grant_types": []string{"client_credentials"}, "scopes": []string{"resources:read"}})
	require.Equal(t, http.StatusCreated, status, "%v", created)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {created["client"].(map[string]any)["client_id"].(string)},
		"client_secret": {created["client_secret"].(string)}, "scope": {"resources:read"}}
	status, tok := c.do("POST", gw+"/oauth2/token", "", "application/x-www-form-urlencoded", []byte(form.Encode()))
	require.Equal(t, http.StatusOK, status, "%v", tok)
	robot := tok["access_token"].(string)

	// Resource create, update and upload.
	status, res := c.json("POST", gw+"/v1/resources", ada, map[string]string{"title": "Field notes", "body": "first draft", "visibility": "public"})
	require.Equal(t, http.StatusCreated, status, "%v", res)
	rid := res["id"].(string)
	status, res = c.do("PATCH", gw+"/v1/resources/"+rid, ada, "application/merge-patch+json", []byte(`{"body":"the okapi at dusk"}`), "If-Match", `"1"`)
	require.Equal(t, http.StatusOK, status, "%v", res)
	require.EqualValues(t, 2, res["version"])
	status, file := c.do("POST", gw+"/v1/resources/"+rid+"/files?name=quokka.md", ada, "application/octet-stream",
		[]byte("# Quokkas\n\nThe quokka smiles on Rottnest Island.\n"))
	require.Equal(t, http.StatusCreated, status, "%v", file)
	fid := file["id"].(string)
	status, got := c.json("GET", gw+"/v1/resources/"+rid, robot, nil)
	require.Equal(t, http.StatusOK, status, "the client's token reads: %v", got)
	require.Equal(t, "the okapi at dusk", got["body"])

	// The file becomes searchable through the gateway, and on each search
	// replica, which keeps an index of its own.
	testinfra.Within(t, deadline, "the file is found through the gateway", func() bool {
		return count(searchHits(t, d.Public, gw, ada, "quokka smiles", "hybrid"), ofFile(fid)) > 0
	})
	for _, replica := range []string{"search-1", "search-2"} {
		base := d.url(t, replica)
		testinfra.Within(t, deadline, "the file is found on "+replica, func() bool {
			return count(searchHits(t, d.Internal, base, ada, "quokka smiles", "hybrid"), ofFile(fid)) > 0
		})
	}

	// The usage report shows ada's calls.
	from := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	to := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	testinfra.Within(t, deadline, "ada's calls appear in her usage report", func() bool {
		status, report := c.json("GET", gw+"/v1/analytics/usage?granularity=day&group_by=route&from="+from+"&to="+to, ada, nil)
		require.Equal(t, http.StatusOK, status, "%v", report)
		for _, p := range report["points"].([]any) {
			if pt := p.(map[string]any); pt["group"] == "/v1/search" && pt["requests"].(float64) >= 1 {
				return true
			}
		}
		return false
	})

	// Audit: the resource's creation is recorded, and the chain verifies.
	testinfra.Within(t, deadline, "the creation reaches the audit log", func() bool {
		// By target: the chain is listed oldest first, and earlier tests
		// wrote more creations than one page holds.
		status, page := c.json("GET", gw+"/v1/audit-events?action=resource.create&target="+url.QueryEscape("resource/"+rid), ops, nil)
		require.Equal(t, http.StatusOK, status)
		return slices.ContainsFunc(page["items"].([]any), func(e any) bool { return e.(map[string]any)["target"] == "resource/"+rid })
	})
	status, verified := c.json("POST", gw+"/v1/audit-events/verify", ops, map[string]any{})
	if status >= 500 {
		// The answer hides the cause; the service's log has it.
		for line := range strings.Lines(d.logs(t, "analytics")) {
			if strings.Contains(line, "request failed") {
				t.Logf("analytics: %s", strings.TrimSpace(line))
			}
		}
	}
	require.Equal(t, http.StatusOK, status, "%v", verified)
	require.Equal(t, true, verified["ok"], "%v", verified)

	t.Logf("figure: journey through the gateway container: %d calls, P95 %s", len(c.took), c.p95().Round(time.Millisecond))
}

// TestTheStreamsAreReplicatedOnTheCluster checks that the services made
// every stream with three replicas (NATS_REPLICAS), each on its own node.
func TestTheStreamsAreReplicatedOnTheCluster(t *testing.T) {
	d := deploy(t)
	js := d.operatorBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range []string{"EVENTS", "USAGE", "AUDIT", "DLQ", "JOBS", "KV_jobs", "OBJ_CHUNKS", "AUDIT_CHECKPOINTS"} {
		s, err := js.Stream(ctx, name)
		require.NoError(t, err, name)
		info, err := s.Info(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, info.Config.Replicas, name)
		require.NotNil(t, info.Cluster, name)
		require.Len(t, info.Cluster.Replicas, 2, "%s: a leader and two replicas", name)
	}
}
