// Package contract_test checks that Lattice's services honour their
// published OpenAPI contracts. Each service runs in-process behind httptest
// with its real adapters, on PostgreSQL/Redis started by testcontainers, and
// is driven through its generated client; every request and response is
// validated against the spec.
package contract_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/argon2id"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
	"github.com/lattice-platform/lattice/services/auth/oapi"
)

func TestMain(m *testing.M) {
	testinfra.UseContainers()
	testinfra.Run(m)
}

// fastArgon keeps contract tests quick; production parameters are
// benchmarked separately.
var fastArgon = argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

type authEnv struct {
	svc       *authsvc.Service
	url       string
	client    *oapi.ClientWithResponses
	transport *speccheck.Transport
	dsn       string
}

// authOption adjusts an auth service's configuration before it starts.
type authOption func(*authsvc.Config)

func withRedis(t *testing.T) authOption {
	return func(c *authsvc.Config) { c.RedisURL = testinfra.RedisServer(t).URL }
}

// startAuth runs the auth service on a fresh PostgreSQL database behind a
// real listener; its issuer is the listener's URL, so discovery documents
// point back at it.
func startAuth(t testing.TB, opts ...authOption) *authEnv {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	cfg := authsvc.Config{DatabaseURL: testinfra.Postgres(t), Issuer: url, SessionTTL: time.Hour, Argon2: fastArgon}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := authsvc.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: httpserver.Handler(httpserver.Config{}, svc.HTTP)}}
	srv.Start()
	t.Cleanup(srv.Close)

	spec, err := oapi.GetSpec()
	require.NoError(t, err)
	tr := speccheck.New(t, spec)
	// Redirects are never followed: they point at client applications that
	// do not exist, and tests read them instead.
	httpc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	client, err := oapi.NewClientWithResponses(url, oapi.WithHTTPClient(httpc))
	require.NoError(t, err)
	return &authEnv{svc: svc, url: url, client: client, transport: tr, dsn: cfg.DatabaseURL}
}

func bearer(token string) oapi.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

const password = "correct horse battery"

func (e *authEnv) signUpAndLogin(t *testing.T, email string) (oapi.User, string) {
	t.Helper()
	ctx := context.Background()
	su, err := e.client.SignUpWithResponse(ctx, oapi.SignUpJSONRequestBody{Email: openapi_types.Email(email), Password: password, DisplayName: "Ada"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, su.StatusCode(), string(su.Body))
	login, err := e.client.CreateSessionWithResponse(ctx, oapi.CreateSessionJSONRequestBody{Email: email, Password: password})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, login.StatusCode(), string(login.Body))
	return *su.JSON201, login.JSON201.Token
}

func TestAuthUserAndSessionJourney(t *testing.T) {
	for _, store := range []struct {
		name  string
		redis bool
	}{{"sessions in postgres", false}, {"sessions in redis", true}} {
		t.Run(store.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var opts []authOption
			if store.redis {
				opts = append(opts, withRedis(t))
			}
			e := startAuth(t, opts...)

			user, token := e.signUpAndLogin(t, "Ada@Example.com")
			require.Equal(t, "ada@example.com", user.Email)
			require.Equal(t, oapi.UserRoleUser, user.Role)

			me, err := e.client.GetMeWithResponse(ctx, bearer(token))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, me.StatusCode())
			require.Equal(t, user.Id, me.JSON200.Id)

			// A second login from another client.
			second, err := e.client.CreateSessionWithResponse(ctx, oapi.CreateSessionJSONRequestBody{Email: "ada@example.com", Password: password},
				func(_ context.Context, r *http.Request) error {
					r.Header.Set("User-Agent", "second-device/2")
					return nil
				})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, second.StatusCode())

			list, err := e.client.ListSessionsWithResponse(ctx, bearer(token))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, list.StatusCode())
			require.Len(t, list.JSON200.Items, 2)
			require.Equal(t, second.JSON201.Session.Id, list.JSON200.Items[0].Id, "newest first")
			require.False(t, list.JSON200.Items[0].Current)
			require.True(t, list.JSON200.Items[1].Current)
			require.Equal(t, "second-device/2", list.JSON200.Items[0].UserAgent)

			rev, err := e.client.RevokeSessionWithResponse(ctx, second.JSON201.Session.Id, bearer(token))
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, rev.StatusCode())
			gone, err := e.client.GetMeWithResponse(ctx, bearer(second.JSON201.Token))
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, gone.StatusCode())
			require.Equal(t, `Bearer realm="lattice"`, gone.HTTPResponse.Header.Get("WWW-Authenticate"))

			again, err := e.client.RevokeSessionWithResponse(ctx, second.JSON201.Session.Id, bearer(token))
			require.NoError(t, err)
			require.Equal(t, http.StatusNotFound, again.StatusCode())

			out, err := e.client.LogoutWithResponse(ctx, bearer(token))
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, out.StatusCode())
			after, err := e.client.GetMeWithResponse(ctx, bearer(token))
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, after.StatusCode())
		})
	}
}

func TestAuthSignUpConflictAndLoginFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startAuth(t)
	e.signUpAndLogin(t, "bob@example.com")

	dup, err := e.client.SignUpWithResponse(ctx, oapi.SignUpJSONRequestBody{Email: "BOB@example.com", Password: password, DisplayName: "Bob"})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, dup.StatusCode())
	require.Equal(t, "https://lattice.dev/problems/conflict", dup.ApplicationproblemJSON409.Type)

	bad, err := e.client.CreateSessionWithResponse(ctx, oapi.CreateSessionJSONRequestBody{Email: "bob@example.com", Password: "not the password"})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, bad.StatusCode())
	require.NotContains(t, string(bad.Body), "not the password")
}

func TestAuthLockoutAnswers429WithRetryAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startAuth(t)
	e.signUpAndLogin(t, "carol@example.com")
	var last *oapi.CreateSessionResponse
	for range 5 {
		var err error
		last, err = e.client.CreateSessionWithResponse(ctx, oapi.CreateSessionJSONRequestBody{Email: "carol@example.com", Password: "wrong password!"})
		require.NoError(t, err)
	}
	require.Equal(t, http.StatusTooManyRequests, last.StatusCode())
	require.NotEmpty(t, last.HTTPResponse.Header.Get("Retry-After"))
	locked, err := e.client.CreateSessionWithResponse(ctx, oapi.CreateSessionJSONRequestBody{Email: "carol@example.com", Password: password})
	require.NoError(t, err)
	require.Equal(t, http.StatusTooManyRequests, locked.StatusCode(), "the right password is refused while locked")
}

func TestAuthAdminListsUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startAuth(t)
	_, err := e.svc.App.CreateAdmin(ctx, app.SignUpInput{Email: "root@example.com", Password: password, DisplayName: "Root"})
	require.NoError(t, err)
	login, err := e.client.CreateSessionWithResponse(ctx, oapi.CreateSessionJSONRequestBody{Email: "root@example.com", Password: password})
	require.NoError(t, err)
	adminToken := login.JSON201.Token
	_, userToken := e.signUpAndLogin(t, "u1@example.com")
	e.signUpAndLogin(t, "u2@example.com")

	forbidden, err := e.client.ListUsersWithResponse(ctx, &oapi.ListUsersParams{}, bearer(userToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, forbidden.StatusCode())

	limit := 2
	first, err := e.client.ListUsersWithResponse(ctx, &oapi.ListUsersParams{Limit: &limit}, bearer(adminToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, first.StatusCode())
	require.Len(t, first.JSON200.Items, 2)
	require.NotNil(t, first.JSON200.NextCursor)
	rest, err := e.client.ListUsersWithResponse(ctx, &oapi.ListUsersParams{Limit: &limit, Cursor: first.JSON200.NextCursor}, bearer(adminToken))
	require.NoError(t, err)
	require.Len(t, rest.JSON200.Items, 1)
	require.Nil(t, rest.JSON200.NextCursor)
	emails := []string{first.JSON200.Items[0].Email, first.JSON200.Items[1].Email, rest.JSON200.Items[0].Email}
	require.ElementsMatch(t, []string{"root@example.com", "u1@example.com", "u2@example.com"}, emails)
}

// TestAuthBadInputIsA4xxProblem sends malformed, incomplete, oversized,
// mistyped and over-specified bodies and bad parameters to every endpoint
// that takes input: each must get a 4xx problem+json, never a 5xx.
func TestAuthBadInputIsA4xxProblem(t *testing.T) {
	t.Parallel()
	e := startAuth(t)
	_, token := e.signUpAndLogin(t, "dave@example.com")
	e.transport.SkipRequestValidation = true
	huge := `{"email":"a@example.com","password":"` + strings.Repeat("x", 2<<20) + `","display_name":"A"}`
	cases := []struct {
		name, method, path, contentType, body string
		want                                  int
	}{
		{"signup malformed JSON", "POST", "/v1/users", "application/json", `{"email":`, 400},
		{"signup missing fields", "POST", "/v1/users", "application/json", `{"email":"x@example.com"}`, 400},
		{"signup wrong types", "POST", "/v1/users", "application/json", `{"email":1,"password":true,"display_name":[]}`, 400},
		{"signup unknown field", "POST", "/v1/users", "application/json", `{"email":"e@example.com","password":"correct horse battery","display_name":"E","role":"admin"}`, 400},
		{"signup bad email", "POST", "/v1/users", "application/json", `{"email":"not-an-email","password":"correct horse battery","display_name":"E"}`, 400},
		{"signup empty body", "POST", "/v1/users", "application/json", ``, 400},
		{"signup oversized", "POST", "/v1/users", "application/json", huge, 413},
		{"signup wrong content type", "POST", "/v1/users", "text/plain", `hello`, 415},
		{"login malformed JSON", "POST", "/v1/sessions", "application/json", `[`, 400},
		{"login missing password", "POST", "/v1/sessions", "application/json", `{"email":"dave@example.com"}`, 400},
		{"login unknown field", "POST", "/v1/sessions", "application/json", `{"email":"dave@example.com","password":"x","otp":1}`, 400},
		{"revoke non-uuid id", "DELETE", "/v1/sessions/not-a-uuid", "", ``, 400},
		{"list users bad limit", "GET", "/v1/users?limit=abc", "", ``, 400},
		{"list users limit too big", "GET", "/v1/users?limit=100000", "", ``, 400},
		{"list users without admin scope", "GET", "/v1/users?cursor=%21%21", "", ``, 403},
		{"api key malformed JSON", "POST", "/v1/api-keys", "application/json", `{"name":`, 400},
		{"api key missing scopes", "POST", "/v1/api-keys", "application/json", `{"name":"k"}`, 400},
		{"api key empty scopes", "POST", "/v1/api-keys", "application/json", `{"name":"k","scopes":[]}`, 400},
		{"api key wrong types", "POST", "/v1/api-keys", "application/json", `{"name":5,"scopes":"users:read"}`, 400},
		{"api key unknown field", "POST", "/v1/api-keys", "application/json", `{"name":"k","scopes":["users:read"],"owner":"x"}`, 400},
		{"api key bad expiry", "POST", "/v1/api-keys", "application/json", `{"name":"k","scopes":["users:read"],"expires_at":"tomorrow"}`, 400},
		{"api key past expiry", "POST", "/v1/api-keys", "application/json", `{"name":"k","scopes":["users:read"],"expires_at":"2001-01-01T00:00:00Z"}`, 400},
		{"api key revoke non-uuid", "DELETE", "/v1/api-keys/123", "", ``, 400},
		{"client malformed JSON", "POST", "/oauth2/clients", "application/json", `{`, 400},
		{"client bad type", "POST", "/oauth2/clients", "application/json", `{"name":"c","type":"secret","grant_types":["client_credentials"]}`, 400},
		{"client implicit grant", "POST", "/oauth2/clients", "application/json", `{"name":"c","type":"public","grant_types":["implicit"]}`, 400},
		{"client unknown field", "POST", "/oauth2/clients", "application/json", `{"name":"c","type":"public","grant_types":["authorization_code"],"x":1}`, 400},
		{"token as JSON", "POST", "/oauth2/token", "application/json", `{"grant_type":"client_credentials"}`, 400},
		{"token empty form", "POST", "/oauth2/token", "application/x-www-form-urlencoded", ``, 400},
		{"introspect empty form", "POST", "/oauth2/introspect", "application/x-www-form-urlencoded", ``, 400},
		{"revoke empty form", "POST", "/oauth2/revoke", "application/x-www-form-urlencoded", ``, 400},
		{"unknown path", "GET", "/v1/nothing-here", "", ``, 404},
		{"wrong method", "PUT", "/v1/users/me", "application/json", `{}`, 405},
	}
	httpc := &http.Client{Transport: e.transport}
	for _, tc := range cases {
		httpc := httpc
		if tc.want == 404 || tc.want == 405 { // not operations of the spec, so not checked against it
			httpc = http.DefaultClient
		}
		req, err := http.NewRequest(tc.method, e.url+tc.path, strings.NewReader(tc.body))
		require.NoError(t, err)
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := httpc.Do(req)
		require.NoError(t, err, tc.name)
		resp.Body.Close()
		require.Equal(t, tc.want, resp.StatusCode, tc.name)
		require.Contains(t, []string{"application/problem+json", "application/json"}, resp.Header.Get("Content-Type"), tc.name)
	}
}

func TestAuthOperationalEndpoints(t *testing.T) {
	t.Parallel()
	e := startAuth(t, withRedis(t))
	admin := httptest.NewServer(httpserver.AdminHandler(e.svc.HTTP))
	t.Cleanup(admin.Close)
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"redis":"ok"`, "/metrics": "lattice_http_requests_total"} {
		base := e.url
		if path == "/metrics" { // on the internal listener only
			base = admin.URL
			resp, err := http.Get(e.url + "/metrics")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusNotFound, resp.StatusCode, "the public port does not serve metrics")
			resp, err = http.Get(e.url + "/v1/users/me") // a request to count
			require.NoError(t, err)
			resp.Body.Close()
		}
		// A request is counted after its handler returns, which can be just
		// after the client has its answer: poll rather than assume.
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			resp, err := http.Get(base + path)
			if !assert.NoError(c, err) {
				return
			}
			var b strings.Builder
			_, _ = io.Copy(&b, resp.Body)
			resp.Body.Close()
			assert.Equal(c, http.StatusOK, resp.StatusCode, path)
			assert.Contains(c, b.String(), want, path)
		}, 10*time.Second, 10*time.Millisecond)
	}
}

// TestAuthPublishesAuditEventsThroughItsOutbox runs auth with a real
// JetStream: security actions reach the AUDIT stream through the outbox
// relay, each valid against openapi/events.yaml, with the actor and
// target the audit log will show.
func TestAuthPublishesAuditEventsThroughItsOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	broker := testinfra.NATSContainer(t)
	nc, js, err := natsjs.Connect(broker.URL, "auth-audit-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	require.NoError(t, natsjs.EnsureStreams(ctx, js))
	audit := recordStream(t, ctx, js, "AUDIT")
	e := startAuth(t, func(c *authsvc.Config) { c.Publisher = speccheck.Publishing(t, natsjs.NewPublisher(js, 5*time.Second)) })
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.svc.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	user, _ := e.signUpAndLogin(t, "audited@example.com")
	bad, err := e.client.CreateSessionWithResponse(ctx, oapi.CreateSessionJSONRequestBody{Email: "audited@example.com", Password: "not the password"})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, bad.StatusCode())

	want := map[string]string{ // action → target
		"user.signed_up":  "user/" + user.Id.String(),
		"login.succeeded": "",
		"login.failed":    "user/" + user.Id.String(),
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		seen := map[string]map[string]any{}
		for _, ev := range audit.ofType("audit.recorded") {
			require.Equal(t, "lattice/auth", ev["source"])
			data := ev["data"].(map[string]any)
			seen[data["action"].(string)] = data
		}
		complete := true
		for action := range want {
			_, ok := seen[action]
			complete = complete && ok
		}
		if complete {
			for action, target := range want {
				if target != "" {
					require.Equal(t, target, seen[action]["target"], action)
				}
			}
			require.Equal(t, user.Id.String(), seen["login.succeeded"]["actor"])
			require.Equal(t, "anonymous", seen["login.failed"]["actor"])
			break
		}
		require.True(t, time.Now().Before(deadline), "audit events did not arrive: %v", seen)
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLoginBurstBeyondTheHashSlotsGets503: with one hashing slot and a
// short queue, a burst of logins is partly turned away with 503 and
// Retry-After (problem+json), never with a 500, and the rest are answered.
func TestLoginBurstBeyondTheHashSlotsGets503(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startAuth(t, func(c *authsvc.Config) {
		c.Argon2 = argon2id.Params{MemoryKiB: 16 << 10, Iterations: 4, Parallelism: 1, SaltLen: 16, KeyLen: 32}
		c.HashConcurrency, c.HashWait = 1, time.Millisecond
	})
	e.signUpAndLogin(t, "dora@example.com")
	statuses := make(chan *oapi.CreateSessionResponse, 24)
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.client.CreateSessionWithResponse(ctx, oapi.CreateSessionJSONRequestBody{
				Email: fmt.Sprintf("burst-%d@example.com", i), Password: "not the password"})
			require.NoError(t, err)
			statuses <- r
		}()
	}
	wg.Wait()
	close(statuses)
	seen := map[int]int{}
	for r := range statuses {
		seen[r.StatusCode()]++
		if r.StatusCode() == http.StatusServiceUnavailable {
			require.Equal(t, "1", r.HTTPResponse.Header.Get("Retry-After"))
			require.Equal(t, "application/problem+json", r.HTTPResponse.Header.Get("Content-Type"))
		}
	}
	require.Positive(t, seen[http.StatusServiceUnavailable], "the burst is partly turned away: %v", seen)
	require.Positive(t, seen[http.StatusUnauthorized], "and partly answered: %v", seen)
	require.Equal(t, 24, seen[http.StatusServiceUnavailable]+seen[http.StatusUnauthorized], "nothing else: %v", seen)
}
