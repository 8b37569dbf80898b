package migration_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// The migration routes the tests use, as route file lines.
const (
	jobsRoute = "  - { prefix: /v1/jobs, upstream: legacy, auth: optional-auth, class: default, timeout: 10s," +
		" migration: { lattice: processing, canary: { error_margin: 0.2, window: 30s, min_requests: 4 } } }"
	resourcesRouteHead = "  - { prefix: /v1/resources, upstream: legacy, auth: optional-auth, class: default, timeout: 30s, max_body_bytes: 27262976,"
)

// journeyRoutes is the default route table with the routes the journey
// migrates moved to the monolith.
func journeyRoutes(t *testing.T) string {
	return routesWith(t, map[string]string{
		"/v1/resources": resourcesRouteHead +
			" migration: { lattice: resource, ignore: [id, owner_id, content_type, page, per_page, total, next_cursor], unordered: [tags] } }",
		"/v1/users":    "  - { prefix: /v1/users, upstream: legacy, auth: optional-auth, class: credentials, timeout: 10s, migration: { lattice: auth } }",
		"/v1/sessions": "  - { prefix: /v1/sessions, upstream: legacy, auth: optional-auth, class: credentials, timeout: 10s, migration: { lattice: auth } }",
		"/v1/jobs":     jobsRoute,
	})
}

// routesWith writes the default route table with the routes of the given
// prefixes replaced by the given lines. One test client makes every call
// from one address: the per-address budgets are raised for it, as a load
// balancer's would be.
func routesWith(t *testing.T, replaced map[string]string) string {
	t.Helper()
	raw, err := os.ReadFile("../../services/gateway/routing/routes.yaml")
	require.NoError(t, err)
	lines := strings.Split(string(raw), "\n")
	for prefix, line := range replaced {
		i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "prefix: "+prefix+",") })
		require.GreaterOrEqual(t, i, 0, prefix)
		lines[i] = line
	}
	table := strings.NewReplacer(
		"per_ip:       { rate: 600, period: 1m, burst: 120 }", "per_ip:       { rate: 60000, period: 1m, burst: 5000 }",
		"per_ip:       { rate: 60, period: 1m, burst: 20 }", "per_ip:       { rate: 6000, period: 1m, burst: 500 }",
	).Replace(strings.Join(lines, "\n"))
	require.NotEqual(t, strings.Join(lines, "\n"), table, "the budgets to raise were not found in routes.yaml")
	path := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(path, []byte(table), 0o600))
	return path
}

// faultProxy stands in front of an upstream and, while broken, answers
// 503 in its place: a regression to force on the Lattice side. Its
// upstream is set once that has bound a port of its own: a port chosen
// free beforehand could be taken by another process in between.
type faultProxy struct {
	*httptest.Server
	broken  atomic.Bool
	forward atomic.Pointer[httputil.ReverseProxy]
}

func newFaultProxy(t *testing.T) *faultProxy {
	t.Helper()
	f := &faultProxy{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forward := f.forward.Load()
		if forward == nil || f.broken.Load() && r.URL.Path != "/readyz" { // broken, yet ready: the pool keeps sending
			http.Error(w, `{"title":"injected fault"}`, http.StatusServiceUnavailable)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// forwardTo sets the upstream, a base URL.
func (f *faultProxy) forwardTo(t *testing.T, target string) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	f.forward.Store(httputil.NewSingleHostReverseProxy(u))
}

// TestTheWholeMigration moves the reference monolith onto Lattice as
// docs/migration.md says, with a user who logged into the monolith before
// anything moved checking at every step that their session still works:
// import; shadow the resource reads and reach parity; write through the
// monolith while Lattice's search serves, and find the write; promote
// every route, through a canary that fails and rolls itself back; then
// stop the monolith and find everything in Lattice.
func TestTheWholeMigration(t *testing.T) {
	ctx := context.Background()
	m := startMonolith(t, "--users", "300", "--resources-per-user", "1", "--files-per-resource", "1", "--oversize", strconv.Itoa(2<<20))
	early := monolithLogin(t, m, 2) // before anything moves
	adminLegacy := monolithLogin(t, m, 0)

	env := append(testinfra.PlatformEnv(t), "RESOURCE_MAX_FILE_BYTES="+strconv.Itoa(1<<20))
	fault := newFaultProxy(t)
	env = append(env, "NATS_URL="+testinfra.NATS(t), "GATEWAY_ROUTES_FILE="+journeyRoutes(t), "LEGACY_BASE_URL="+m.URL,
		"AUTH_LEGACY_SESSION_SECRET_FILE="+m.SecretFile, "PROCESSING_URL="+fault.URL)
	env = append(env, exchangeClient(t, env)...)
	served := testinfra.Serve(t, env)
	gw := served.Gateway()
	fault.forwardTo(t, served.Addrs["processing"])
	stillWorks := func(step string) {
		t.Helper()
		status, me := call(t, "GET", gw+"/v1/users/me", early, nil)
		require.Equal(t, http.StatusOK, status, "%s: %v", step, me)
		require.Equal(t, m.Seeded.Users[2].Email, me["email"], step)
		status, list := call(t, "GET", gw+"/v1/resources?limit=5", early, nil)
		require.Equal(t, http.StatusOK, status, "%s: %v", step, list)
	}
	// 1. Import, with the platform running.
	report := importUsers(t, m, env)
	require.Contains(t, report, "users: 302 read, 300 created, 0 unchanged, 2 skipped")
	require.Contains(t, report, "resources: 300 read, 300 created, 0 unchanged, 0 skipped")
	require.Contains(t, report, "files: 302 read, 300 created, 0 unchanged, 2 skipped")
	stillWorks("after the import")
	// The import's events are processed in order: the last file found
	// means the backlog is done.
	// 600 jobs (300 bodies, 300 files each extracted in a child process) on
	// two cores that CI shares with the deploy tests' containers: the wait
	// is generous, and returns as soon as the last file is found.
	testinfra.Within(t, 5*time.Minute, "search has indexed the import", func() bool {
		status, res := call(t, "POST", gw+"/v1/search", adminLegacy, map[string]any{"query": "Notes on User 299", "mode": "text", "limit": 20})
		require.Equal(t, http.StatusOK, status, "%v", res)
		for _, h := range res["hits"].([]any) {
			hit := h.(map[string]any)
			if excerpt, _ := hit["excerpt"].(string); hit["file_id"] != nil && strings.Contains(excerpt, "299") {
				return true
			}
		}
		return false
	})
	cli := func(args ...string) string {
		return runLattice(t, append(slices.Clone(env), "LATTICE_URL="+gw, "LATTICE_TOKEN="+adminLegacy), append([]string{"migration"}, args...)...)
	}

	// 2. Shadow the resource reads until parity.
	cli("promote", "/v1/resources")
	sent := 0
	for _, tag := range []string{"harbour", "tides", "gulls", "ledger", "archive", "draft", "field", "report", ""} {
		for _, token := range []string{"", early} {
			query := "?limit=100"
			if tag != "" {
				query += "&tag=" + tag
			}
			status, list := call(t, "GET", gw+"/v1/resources"+query, token, nil)
			require.Equal(t, http.StatusOK, status, "%v", list)
			require.Contains(t, list, "page", "the monolith answers in the shadow phase")
			sent++
		}
	}
	var parity map[string]any
	defer func() {
		if t.Failed() && parity != nil {
			t.Logf("the last shadow figures of /v1/resources: %v", parity)
		}
	}()
	// Every mirrored read ends compared, failed or skipped; a loaded machine
	// may fail or skip a few, but most must be compared, and those match.
	testinfra.Within(t, time.Minute, "every shadowed read has an outcome", func() bool {
		parity = shadowOf(t, gw, adminLegacy, "/v1/resources")
		judged := parity["compared"].(float64) + parity["failed"].(float64) + parity["skipped"].(float64)
		return judged >= float64(sent)
	})
	require.GreaterOrEqual(t, parity["compared"].(float64), 0.75*float64(sent), "parity: %v", parity)
	require.GreaterOrEqual(t, parity["parity"].(float64), 0.99, "parity: %v", parity)
	t.Logf("figure: shadow parity on /v1/resources: %.1f%% of %v reads", 100*parity["parity"].(float64), parity["compared"])
	stillWorks("in the shadow phase")

	// 3. The search phase: Lattice's search serves while the monolith keeps
	// the writes, which it sends to Lattice's change feed.
	status, key := call(t, "POST", gw+"/v1/api-keys", adminLegacy, map[string]any{"name": "monolith change feed", "scopes": []string{"resources:admin"}})
	require.Equal(t, http.StatusCreated, status, "%v", key)
	tokenFile := filepath.Join(t.TempDir(), "feed-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(key["secret"].(string)), 0o600))
	m.restart(t, "MONOLITH_CHANGE_FEED_URL="+gw+"/v1/legacy-resources", "MONOLITH_CHANGE_FEED_TOKEN_FILE="+tokenFile)
	status, written := call(t, "POST", gw+"/v1/resources", early, map[string]any{"title": "Written in the search phase",
		"body": "the lighthouse keeper counted puffins", "visibility": "internal", "tags": []string{"field"}})
	require.Equal(t, http.StatusCreated, status, "%v", written)
	require.Contains(t, written, "owner_id")
	start := time.Now()
	// Search answers with excerpts: the resource route itself is still the
	// monolith's, which knows no Lattice ids.
	testinfra.Within(t, 30*time.Second, "Lattice's search finds the monolith's write", func() bool {
		return searchExcerpts(t, gw, early, "puffins")
	})
	t.Logf("figure: a write through the monolith was found by Lattice's search after %s", time.Since(start).Round(time.Millisecond))
	stillWorks("in the search phase")

	// 4. Promote route by route; a failing canary rolls itself back.
	cli("promote", "/v1/resources", "--percent", "50")
	stillWorks("resources at canary 50%")
	cli("promote", "/v1/resources")
	stillWorks("resources on Lattice")
	for _, prefix := range []string{"/v1/users", "/v1/sessions"} {
		require.Regexp(t, prefix+`\s+canary 10%`, cli("promote", prefix), "a credential route skips the shadow")
		stillWorks(prefix + " at canary")
		cli("promote", prefix)
		stillWorks(prefix + " on Lattice")
	}

	fault.broken.Store(true)
	cli("promote", "/v1/jobs")
	cli("promote", "/v1/jobs", "--percent", "50")
	// The canary splits callers by identity, and the guard judges it once
	// each side has min_requests in its window. Identities are new in each
	// run: with 8 callers, one side had at most one caller in about one run
	// in fourteen, and on a loaded machine four rounds of calls did not fit
	// in the window. With 16, each side has several.
	tokens := []string{early, adminLegacy}
	for i := 3; i < 17; i++ {
		tokens = append(tokens, monolithLogin(t, m, i))
	}
	testinfra.Within(t, time.Minute, "the failing canary rolls itself back", func() bool {
		for _, tok := range tokens {
			call(t, "GET", gw+"/v1/jobs?resource_id=1", tok, nil)
		}
		return regexpFind(`/v1/jobs\s+legacy\s.*\sgateway\s*$`, cli("status"))
	})
	fault.broken.Store(false)
	cli("promote", "/v1/jobs")
	cli("promote", "/v1/jobs", "--percent", "50")
	cli("promote", "/v1/jobs")
	stillWorks("every route on Lattice")
	out := cli("status")
	for _, prefix := range []string{"/v1/resources", "/v1/users", "/v1/sessions", "/v1/jobs"} {
		require.Regexp(t, prefix+`\s+lattice\s`, out)
	}

	// 5. The monolith stops; nothing is lost.
	m.stop()
	stillWorks("with the monolith stopped")
	for _, i := range []int{3, 4} { // pbkdf2_sha256 and bcrypt, as the monolith hashed them
		u := m.Seeded.Users[i]
		status, session := call(t, "POST", gw+"/v1/sessions", "", map[string]string{"email": u.Email, "password": u.Password})
		require.Equal(t, http.StatusCreated, status, "%s (%s) logs in to Lattice with the monolith's password: %v", u.Email, u.Scheme, session)
		require.NotEmpty(t, session["token"])
	}
	conn, err := pgx.Connect(ctx, m.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var legacyResources int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM resources").Scan(&legacyResources))
	require.Equal(t, 301, legacyResources, "300 seeded and one written in the search phase")
	latticeResources := 0
	for cursor := ""; ; {
		status, page := call(t, "GET", gw+"/v1/resources?limit=200&cursor="+url.QueryEscape(cursor), adminLegacy, nil)
		require.Equal(t, http.StatusOK, status, "%v", page)
		latticeResources += len(page["items"].([]any))
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, legacyResources, latticeResources, "every monolith resource is in Lattice")

	rows, err := conn.Query(ctx, `SELECT r.title, f.sha256 FROM files f JOIN resources r ON r.id = f.resource_id
		WHERE f.size < 1048576 AND f.name <> 'gone.txt' ORDER BY f.id LIMIT 5`)
	require.NoError(t, err)
	checked := 0
	for rows.Next() {
		var title, sum string
		require.NoError(t, rows.Scan(&title, &sum))
		require.True(t, fileInLattice(t, gw, adminLegacy, title, sum), "%s's file, %s, is in Lattice with its bytes", title, sum)
		checked++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 5, checked)
}

// searchExcerpts reports whether a text search finds word in an excerpt.
func searchExcerpts(t *testing.T, gw, token, word string) bool {
	t.Helper()
	status, res := call(t, "POST", gw+"/v1/search", token, map[string]any{"query": word, "mode": "text", "limit": 5})
	require.Equal(t, http.StatusOK, status, "%v", res)
	for _, h := range res["hits"].([]any) {
		if excerpt, _ := h.(map[string]any)["excerpt"].(string); strings.Contains(strings.ToLower(excerpt), word) {
			return true
		}
	}
	return false
}

// shadowOf is the migration API's shadow figures of a route.
func shadowOf(t *testing.T, gw, token, prefix string) map[string]any {
	t.Helper()
	status, list := call(t, "GET", gw+"/v1/migration/routes", token, nil)
	require.Equal(t, http.StatusOK, status, "%v", list)
	for _, item := range list["items"].([]any) {
		r := item.(map[string]any)
		if r["route"] == prefix {
			return r["shadow"].(map[string]any)
		}
	}
	t.Fatalf("no migration route %s", prefix)
	return nil
}

// fileInLattice finds the resource titled title and checks that one of its
// files downloads with the checksum sum.
func fileInLattice(t *testing.T, gw, token, title, sum string) bool {
	t.Helper()
	status, found := call(t, "POST", gw+"/v1/search", token, map[string]any{"query": title, "mode": "text", "limit": 20})
	require.Equal(t, http.StatusOK, status)
	for _, h := range found["hits"].([]any) {
		rid := h.(map[string]any)["resource_id"].(string)
		status, files := call(t, "GET", gw+"/v1/resources/"+rid+"/files", token, nil)
		if status != http.StatusOK {
			continue
		}
		for _, f := range files["items"].([]any) {
			file := f.(map[string]any)
			if file["sha256"] != sum {
				continue
			}
			req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v1/resources/%s/files/%s/content", gw, rid, file["id"]), nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			h := sha256.New()
			_, _ = io.Copy(h, resp.Body)
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK && hex.EncodeToString(h.Sum(nil)) == sum
		}
	}
	return false
}

// regexpFind reports whether a line of s matches pattern.
func regexpFind(pattern, s string) bool {
	re := regexp.MustCompile(pattern)
	for _, line := range strings.Split(s, "\n") {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}
