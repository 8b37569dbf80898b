package e2e_test

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

// sampleBodies are well-formed request bodies, by operation, so that a
// check of credentials or scopes is not answered by body validation.
var sampleBodies = map[string]struct{ contentType, body string }{
	"createAPIKey":           {"application/json", `{"name":"sweep","scopes":["users:read"]}`},
	"createClient":           {"application/json", `{"name":"sweep","type":"confidential","grant_types":["client_credentials"],"scopes":["search:read"]}`},
	"createSession":          {"application/json", `{"email":"nobody@example.com","password":"not the password at all"}`},
	"signUp":                 {"application/json", `{"email":"sweep-signup@example.com","password":"a long enough password","display_name":"S"}`},
	"verifyAuditEvents":      {"application/json", `{}`},
	"enqueueJob":             {"application/json", `{"kind":"reindex","resource_id":"` + uuid.Nil.String() + `"}`},
	"checkResourceAccess":    {"application/json", `{"ids":["` + uuid.Nil.String() + `"]}`},
	"createResource":         {"application/json", `{"title":"Sweep"}`},
	"replaceResource":        {"application/json", `{"title":"Sweep"}`},
	"patchResource":          {"application/merge-patch+json", `{"title":"Sweep"}`},
	"syncLegacyResource":     {"application/json", `{"owner":"nobody","title":"Sweep","updated_at":"2026-01-01T00:00:00Z"}`},
	"uploadFile":             {"application/octet-stream", "some bytes"},
	"search":                 {"application/json", `{"query":"sweep"}`},
	"promoteMigrationRoute":  {"application/json", `{"route":"/v1/resources"}`},
	"rollbackMigrationRoute": {"application/json", `{"route":"/v1/resources"}`},
	"token":                  {"application/x-www-form-urlencoded", "grant_type=client_credentials"},
	"introspect":             {"application/x-www-form-urlencoded", "token=abc"},
	"revoke":                 {"application/x-www-form-urlencoded", "token=abc"},
	"authorizeLogin":         {"application/x-www-form-urlencoded", "email=a%40example.com&password=x"},
}

// sweepOp is one operation of the public contract.
type sweepOp struct {
	id, method, path string
	codes            map[int]bool
}

// publicContract is the public spec as the gateway serves it, and its
// operations sorted by id; loaded once for every test that checks traffic
// against it.
var publicContract = sync.OnceValues(func() (*openapi3.T, error) { return gatewaysvc.PublicSpec() })

func contractOperations(t *testing.T) (*openapi3.T, []sweepOp) {
	t.Helper()
	bundle, err := publicContract()
	require.NoError(t, err)
	var ops []sweepOp
	for path, item := range bundle.Paths.Map() {
		for method, op := range item.Operations() {
			o := sweepOp{id: op.OperationID, method: method, path: path, codes: map[int]bool{}}
			for code := range op.Responses.Map() {
				if c, err := strconv.Atoi(code); err == nil {
					o.codes[c] = true
				}
			}
			ops = append(ops, o)
		}
	}
	slices.SortFunc(ops, func(a, b sweepOp) int { return strings.Compare(a.id, b.id) })
	return bundle, ops
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// target is what an operation's path names: a resource, job, key or
// session (id), a file (fileID), a legacy id.
type target struct{ id, fileID, legacyID string }

// urlOf fills an operation's path from tg, and adds its query.
func urlOf(base string, o sweepOp, tg target, query string) string {
	u := base + pathParam.ReplaceAllStringFunc(o.path, func(m string) string {
		switch m {
		case "{version}":
			return "1"
		case "{legacy_id}":
			return url.PathEscape(cmp.Or(tg.legacyID, "sweep-legacy-1"))
		case "{file_id}":
			return url.PathEscape(cmp.Or(tg.fileID, tg.id))
		}
		if o.id == "deleteClient" && tg.id != "not-a-uuid" {
			return "no-such-client"
		}
		return url.PathEscape(tg.id)
	})
	if query != "" {
		u += "?" + query
	}
	return u
}

// sampleQueries are well-formed queries, by operation; badQueries are
// queries each operation must refuse with 400.
var (
	sampleQueries = map[string]string{
		"getSummary":      "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
		"getTopResources": "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
		"getUsage":        "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
		"uploadFile":      "name=sweep.txt",
	}
	badQueries = map[string]string{
		"getSummary":      "from=yesterday&to=today",
		"getTopResources": "from=yesterday&to=today",
		"getUsage":        "from=yesterday&to=today",
		"listAuditEvents": "limit=0",
		"listJobs":        "limit=0",
		"listResources":   "limit=0",
		"listUsers":       "limit=0",
	}
)

// TestEveryOperationRefusesWhatItDocuments sweeps the public contract
// through the gateway: every operation that documents 401 refuses a forged
// credential, every one that documents 403 refuses a credential without
// its scope or role, every one that documents 400 refuses a malformed id
// or body, and every one that documents 404 answers it for an id that does
// not exist. Each answer is checked against the spec (and recorded for the
// contract-coverage gate).
func TestEveryOperationRefusesWhatItDocuments(t *testing.T) {
	env := testinfra.PlatformEnv(t)
	// The credential endpoints' per-address budget (20 at once) would
	// answer most of this sweep with 429: the sweep runs with a larger one.
	routes, err := os.ReadFile("../../services/gateway/routing/routes.yaml")
	require.NoError(t, err)
	tight := "per_ip:       { rate: 60, period: 1m, burst: 20 }"
	require.Contains(t, string(routes), tight)
	file := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(routes), tight, "per_ip: { rate: 6000, period: 1m, burst: 2000 }", 1)), 0o600))
	_, base := testinfra.ServeAll(t, append(env, "GATEWAY_ROUTES_FILE="+file))
	bundle, ops := contractOperations(t)
	tr := speccheck.New(t, bundle)
	tr.SkipRequestValidation = true // bad requests are the point
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	lattice(t, env, "an admin password\n", "user", "create-admin", "--email", "sweep-admin@example.com", "--name", "Ops")
	admin := sessionToken(t, base, "sweep-admin@example.com", "an admin password")
	user := signUpAndLogin(t, base, "sweep-user@example.com")
	usersOnly, usersOnlyID := apiKey(t, base, user, "users:read")
	searchOnly, _ := apiKey(t, base, user, "search:read")
	clientID, clientSecret := serviceClient(t, env, "sweep", "search:read")
	client := serviceToken(t, base, clientID, clientSecret)
	// What the 403 checks act on: an admin's public resource and its
	// file (readable by the user, not writable), the user's own key.
	status, res := call(t, "POST", base+"/v1/resources", admin, "application/json", `{"title":"Admin's","visibility":"public"}`)
	require.Equal(t, 201, status, "%v", res)
	owned := target{id: res["id"].(string)}
	owned.fileID = upload(t, base, admin, owned.id, "admin.txt", []byte("the admin's file"))

	do := func(method, url, credential string, header http.Header, body *struct{ contentType, body string }) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			rd = strings.NewReader(body.body)
		}
		req, err := http.NewRequest(method, url, rd)
		require.NoError(t, err)
		if body != nil {
			req.Header.Set("Content-Type", body.contentType)
		}
		switch {
		case strings.HasPrefix(credential, "Basic "):
			req.Header.Set("Authorization", credential)
		case credential != "":
			req.Header.Set("Authorization", "Bearer "+credential)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	send := func(o sweepOp, tg target, credential string, body *struct{ contentType, body string }, query string) (int, string) {
		t.Helper()
		header := http.Header{}
		if o.id == "patchResource" || o.id == "replaceResource" || o.id == "deleteResource" {
			header.Set("If-Match", `"1"`)
		}
		return do(strings.ToUpper(o.method), urlOf(base, o, tg, query), credential, header, body)
	}
	sample := func(o sweepOp) *struct{ contentType, body string } {
		if b, ok := sampleBodies[o.id]; ok {
			return &b
		}
		return nil
	}
	unknown := target{id: uuid.NewString(), fileID: uuid.NewString()}

	for _, o := range ops {
		t.Run(o.id, func(t *testing.T) {
			if o.codes[401] {
				// The OAuth endpoints authenticate clients, with HTTP Basic;
				// a login's 401 is a wrong password (the sample's).
				forged := "forged.token.value"
				switch o.id {
				case "token", "introspect", "revoke":
					forged = "Basic " + basic("no-such-client", "wrong")
				case "createSession", "authorizeLogin":
					forged = ""
				}
				status, raw := send(o, unknown, forged, sample(o), sampleQueries[o.id])
				require.Equal(t, 401, status, "a forged credential: %s", raw)
			}
			if o.codes[403] {
				tg := unknown
				switch {
				case strings.HasPrefix(o.path, "/v1/resources/{id}"):
					tg = owned
				case o.id == "revokeAPIKey":
					tg = target{id: usersOnlyID}
				}
				var got []int
				for _, cred := range []string{usersOnly, searchOnly, user, client} {
					status, _ := send(o, tg, cred, sample(o), sampleQueries[o.id])
					if got = append(got, status); status == 403 {
						break
					}
				}
				require.Contains(t, got, 403, "a credential without the scope or role")
			}
			if o.codes[400] {
				tg := target{id: "not-a-uuid", fileID: "not-a-uuid", legacyID: strings.Repeat("x", 256)}
				status, raw := send(o, tg, admin, badInput(o), badQueries[o.id])
				require.Equal(t, 400, status, "malformed input: %s", raw)
			}
			if o.codes[404] && strings.Contains(o.path, "{") {
				status, raw := send(o, unknown, admin, sample(o), sampleQueries[o.id])
				require.Equal(t, 404, status, "an unknown id: %s", raw)
			}
		})
	}

	t.Run("conflicts and preconditions", func(t *testing.T) {
		// A logout needs a session: an API key is refused with 409.
		sessionsKey, _ := apiKey(t, base, user, "sessions:write")
		status, raw := do("DELETE", base+"/v1/sessions/current", sessionsKey, nil, nil)
		require.Equal(t, 409, status, "%s", raw)

		// Writes need the current ETag: none is 428, a stale one 412.
		status, res := call(t, "POST", base+"/v1/resources", user, "application/json", `{"title":"Mine"}`)
		require.Equal(t, 201, status, "%v", res)
		mine := base + "/v1/resources/" + res["id"].(string)
		body := &struct{ contentType, body string }{"application/json", `{"title":"Replaced"}`}
		for _, c := range []struct {
			method  string
			ifMatch string
			want    int
		}{{"PUT", "", 428}, {"PUT", `"7"`, 412}, {"DELETE", "", 428}, {"DELETE", `"7"`, 412}} {
			header := http.Header{}
			if c.ifMatch != "" {
				header.Set("If-Match", c.ifMatch)
			}
			b := body
			if c.method == "DELETE" {
				b = nil
			}
			status, raw := do(c.method, mine, user, header, b)
			require.Equal(t, c.want, status, "%s with If-Match %q: %s", c.method, c.ifMatch, raw)
		}

		// Only a dead or cancelled job can be retried.
		var job string
		testinfra.Within(t, 30*time.Second, "the admin's file is processed", func() bool {
			status, list := call(t, "GET", base+"/v1/jobs?resource_id="+owned.id, admin, "", "")
			require.Equal(t, 200, status, "%v", list)
			for _, j := range list["items"].([]any) {
				if j := j.(map[string]any); j["state"] == "succeeded" {
					job = j["id"].(string)
					return true
				}
			}
			return false
		})
		status, raw = do("POST", base+"/v1/jobs/"+job+"/retry", admin, nil, nil)
		require.Equal(t, 409, status, "%s", raw)

		// A rebuild while one runs is refused: two at once, until one of a
		// pair lands while the other runs.
		testinfra.Within(t, 30*time.Second, "a second rebuild is refused while one runs", func() bool {
			statuses := make(chan int, 2)
			for range 2 {
				go func() {
					req, err := http.NewRequest("POST", base+"/v1/indexes/rebuild", nil)
					if err != nil {
						statuses <- -1
						return
					}
					req.Header.Set("Authorization", "Bearer "+admin)
					resp, err := hc.Do(req)
					if err != nil {
						statuses <- -1
						return
					}
					resp.Body.Close()
					statuses <- resp.StatusCode
				}()
			}
			a, b := <-statuses, <-statuses
			require.Contains(t, []int{202, 409}, a)
			require.Contains(t, []int{202, 409}, b)
			return a == 409 || b == 409
		})
	})
}

// badInput is a request body an operation must refuse with 400 (nil when
// a malformed path id or query is what makes the request bad).
func badInput(o sweepOp) *struct{ contentType, body string } {
	b, ok := sampleBodies[o.id]
	if !ok || strings.Contains(o.path, "{") {
		return nil
	}
	if strings.HasPrefix(b.contentType, "application/x-www-form-urlencoded") {
		b.body = "" // every OAuth form needs its fields
		return &b
	}
	if b.contentType == "application/octet-stream" {
		return &b
	}
	b.body = `["not an object"]`
	return &b
}

func basic(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
}

func sessionToken(t *testing.T, base, email, password string) string {
	t.Helper()
	status, out := call(t, "POST", base+"/v1/sessions", "", "application/json", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password))
	require.Equal(t, 201, status, "%v", out)
	return out["token"].(string)
}

func signUpAndLogin(t *testing.T, base, email string) string {
	t.Helper()
	status, out := call(t, "POST", base+"/v1/users", "", "application/json", fmt.Sprintf(`{"email":%q,"password":"a long enough password","display_name":"S"}`, email))
	require.Equal(t, 201, status, "%v", out)
	return sessionToken(t, base, email, "a long enough password")
}

// apiKey makes an API key holding scopes and returns its secret and id.
func apiKey(t *testing.T, base, token string, scopes ...string) (string, string) {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"name": "sweep", "scopes": scopes})
	require.NoError(t, err)
	status, out := call(t, "POST", base+"/v1/api-keys", token, "application/json", string(raw))
	require.Equal(t, 201, status, "%v", out)
	return out["secret"].(string), out["api_key"].(map[string]any)["id"].(string)
}

// serviceToken obtains a client-credentials access token.
func serviceToken(t *testing.T, base, id, secret string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.NotEmpty(t, out.AccessToken)
	return out.AccessToken
}
