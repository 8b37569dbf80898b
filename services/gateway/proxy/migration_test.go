package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/clientaddr"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

// anyUser accepts "u:<name>" as the user <name>.
type anyUser struct{}

func (anyUser) Verify(_ context.Context, bearer string) (ports.Identity, error) {
	if name, ok := strings.CutPrefix(bearer, "u:"); ok {
		return ports.Identity{Subject: name}, nil
	}
	return ports.Identity{}, fault.New(fault.Unauthenticated, "bad token")
}

const migrationRoutes = `
classes:
  default: { per_ip: { rate: 1000000, period: 1m, burst: 1000000 }, per_identity: { rate: 1000000, period: 1m, burst: 1000000 } }
routes:
  - { prefix: /v1/split,  upstream: search, auth: optional-auth, class: default, timeout: 5s, split: { upstream: legacy, percent: 30 } }
  - { prefix: /v1/shadow, upstream: search, auth: optional-auth, class: default, timeout: 5s, shadow: { upstream: legacy, ignore: [id, generated_at] } }
`

// upstream answers with its name; on /v1/shadow/diff the legacy one
// disagrees on a field that matters.
func upstream(t *testing.T, name string, hits *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		value := "same"
		if name == "legacy" && strings.HasSuffix(r.URL.Path, "/diff") {
			value = "different"
		}
		fmt.Fprintf(w, `{"served_by":%q,"id":"%d","generated_at":"%s","nested":{"id":"x-%s","value":%q}}`,
			map[bool]string{true: name, false: "either"}[strings.HasPrefix(r.URL.Path, "/v1/split")],
			time.Now().UnixNano(), time.Now().Format(time.RFC3339Nano), name, value)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func startMigration(t *testing.T) (gw string, newHits, legacyHits *atomic.Int64) {
	gw, _, newHits, legacyHits = startMigrationWithAdmin(t)
	return gw, newHits, legacyHits
}

// startMigrationWithAdmin also returns the gateway's internal listener,
// where its metrics are.
func startMigrationWithAdmin(t *testing.T) (gw, admin string, newHits, legacyHits *atomic.Int64) {
	t.Helper()
	newHits, legacyHits = &atomic.Int64{}, &atomic.Int64{}
	svcUp, legacyUp := upstream(t, "search", newHits), upstream(t, "legacy", legacyHits)
	file := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(file, []byte(migrationRoutes), 0o600))
	svc, err := gatewaysvc.New(gatewaysvc.Config{RoutesFile: file, Verifier: anyUser{}, Limiter: tokenbucket.New(),
		Upstreams: map[string]string{"search": svcUp.URL, "legacy": legacyUp.URL}}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	srv := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	t.Cleanup(srv.Close)
	adm := httptest.NewServer(httpserver.AdminHandler(svc.HTTP))
	t.Cleanup(adm.Close)
	return srv.URL, adm.URL, newHits, legacyHits
}

func callAs(t *testing.T, url, user string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.Header.Set("Authorization", "Bearer u:"+user)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(b))
	return string(b)
}

func TestWeightedSplitIsStickyAndNearItsRatio(t *testing.T) {
	t.Parallel()
	gw, _, _ := startMigration(t)
	legacy := 0
	const users = 2000
	for i := range users {
		user := "user-" + strconv.Itoa(i)
		first := callAs(t, gw+"/v1/split/q", user)
		if strings.Contains(first, `"served_by":"legacy"`) {
			legacy++
		}
		if i%50 == 0 { // the same caller always lands on the same side
			for range 3 {
				require.Equal(t, strings.Contains(first, "legacy"), strings.Contains(callAs(t, gw+"/v1/split/q", user), "legacy"))
			}
		}
	}
	ratio := float64(legacy) / users
	require.InDelta(t, 0.30, ratio, 0.04, "observed %.3f of traffic on legacy", ratio)
}

func TestShadowCountsMatchesAndDiffs(t *testing.T) {
	t.Parallel()
	gw, admin, newHits, legacyHits := startMigrationWithAdmin(t)
	for i := range 10 {
		body := callAs(t, gw+"/v1/shadow/same", "u"+strconv.Itoa(i))
		require.Contains(t, body, `"x-search"`, "the primary answers the client")
	}
	for i := range 4 {
		callAs(t, gw+"/v1/shadow/diff", "u"+strconv.Itoa(i))
	}
	metric := func(result string) int {
		resp, err := http.Get(admin + "/metrics")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`lattice_gateway_shadow_total\{result="` + result + `",route="/v1/shadow"\} (\d+)`).FindStringSubmatch(string(b))
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for metric("match")+metric("diff") < 14 {
		require.True(t, time.Now().Before(deadline), "shadow results did not arrive")
		time.Sleep(10 * time.Millisecond)
	}
	// The nested id differs between the two ("x-search" / "x-legacy") but is
	// ignored like the top-level id and timestamp.
	require.Equal(t, 10, metric("match"))
	require.Equal(t, 4, metric("diff"))
	require.EqualValues(t, 14, newHits.Load())
	require.EqualValues(t, 14, legacyHits.Load())

	// A write goes to the primary alone: its copy would write twice. A read
	// after it is shadowed, and is the only one.
	resp, err := http.Post(gw+"/v1/shadow/same", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	callAs(t, gw+"/v1/shadow/same", "u0")
	for metric("match")+metric("diff") < 15 {
		require.True(t, time.Now().Before(deadline.Add(10*time.Second)), "the read's shadow result did not arrive")
		time.Sleep(10 * time.Millisecond)
	}
	require.EqualValues(t, 16, newHits.Load())
	require.EqualValues(t, 15, legacyHits.Load(), "the write was not shadowed")
	require.Equal(t, 15, metric("match")+metric("diff"))
}

// TestShadowDiffLogsCarryNoCredentials: the sampled diff log of a shadow
// route never holds a token, password or cookie that either side's body
// carried; and a route table that would shadow a credential route is
// refused when it is loaded.
func TestShadowDiffLogsCarryNoCredentials(t *testing.T) {
	t.Parallel()
	secrets := []string{"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl", "lts_sessiontokenvalue", "hunter2-password",
		"lattice_session=ltb_cookievalue", "ltk_apikeyvalue"}
	side := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"side":%q,"access_token":%q,"note":"see %s","nested":{"password":%q},"raw":%q,"key":%q}`,
				name, secrets[0], secrets[1], secrets[2], secrets[3], secrets[4])
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	var logs testinfra.LogBuffer
	routes := `
classes:
  default: { per_ip: { rate: 1000000, period: 1m, burst: 1000000 }, per_identity: { rate: 1000000, period: 1m, burst: 1000000 } }
routes:
  - { prefix: /v1/shadow, upstream: search, auth: optional-auth, class: default, timeout: 5s, shadow: { upstream: legacy } }
`
	file := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(file, []byte(routes), 0o600))
	svc, err := gatewaysvc.New(gatewaysvc.Config{RoutesFile: file, Verifier: anyUser{}, Limiter: tokenbucket.New(),
		Upstreams: map[string]string{"search": side("new").URL, "legacy": side("old").URL}}, slog.New(slog.NewJSONHandler(&logs, nil)))
	require.NoError(t, err)
	srv := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	t.Cleanup(srv.Close)
	callAs(t, srv.URL+"/v1/shadow/x", "")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "shadow diff") {
		require.True(t, time.Now().Before(deadline), "no diff was logged")
		time.Sleep(10 * time.Millisecond)
	}
	out := logs.String()
	require.Contains(t, out, "[redacted]")
	for _, s := range secrets {
		require.NotContains(t, out, s)
	}

	bad := strings.Replace(routes, "/v1/shadow", "/v1/sessions", 1)
	require.NoError(t, os.WriteFile(file, []byte(bad), 0o600))
	_, err = gatewaysvc.New(gatewaysvc.Config{RoutesFile: file, Verifier: anyUser{}, Limiter: tokenbucket.New(),
		Upstreams: map[string]string{"search": "http://127.0.0.1:1", "legacy": "http://127.0.0.1:1"}}, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "cannot be shadowed")
}

// TestGatewayForwardsOneResolvedClientAddress: the upstream sees the
// client's address as the gateway resolved it — the peer, when the gateway
// trusts no proxy, whatever X-Forwarded-For the client sent; the right-most
// untrusted hop when the gateway sits behind a trusted proxy.
func TestGatewayForwardsOneResolvedClientAddress(t *testing.T) {
	t.Parallel()
	seen := make(chan http.Header, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(up.Close)
	file := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`
classes:
  default: { per_ip: { rate: 1000000, period: 1m, burst: 1000000 }, per_identity: { rate: 1000000, period: 1m, burst: 1000000 } }
routes:
  - { prefix: /v1/x, upstream: search, auth: public, class: default, timeout: 5s }
`), 0o600))
	svc, err := gatewaysvc.New(gatewaysvc.Config{RoutesFile: file, Verifier: anyUser{}, Limiter: tokenbucket.New(),
		Upstreams: map[string]string{"search": up.URL}}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	for _, tc := range []struct {
		name      string
		proxies   string
		wantFor   string
		wantProto string
	}{
		{"the edge: the peer, forged headers dropped", "", "127.0.0.1", "http"},
		{"behind a trusted proxy: the client it names", "127.0.0.1", "203.0.113.7", "https"},
	} {
		srv := httptest.NewServer(httpserver.Handler(httpserver.Config{TrustedProxies: clientaddr.MustParse(tc.proxies)}, svc.HTTP))
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/x", nil)
		req.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.7")
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, tc.name)
		resp.Body.Close()
		srv.Close()
		h := <-seen
		require.Equal(t, []string{tc.wantFor}, h.Values("X-Forwarded-For"), tc.name)
		require.Equal(t, tc.wantProto, h.Get("X-Forwarded-Proto"), tc.name)
	}
}
