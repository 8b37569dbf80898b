// Package e2e drives whole user journeys against the real lattice binary,
// built once per run (without the race detector) and started as a separate process on free loopback
// ports; every request goes through the gateway.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// TestMain stops the containers and removes the lattice binary the tests
// built (testinfra.LatticeBinary, once per run) when they are done.
func TestMain(m *testing.M) { testinfra.Run(m) }

// lattice runs a one-shot command and returns its standard output.
func lattice(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testinfra.LatticeBinary(t), args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "lattice %v: %s", args, errb.String())
	return out.String()
}

// serviceClient registers a confidential client with the client-credentials
// grant through the CLI and returns its id and secret.
func serviceClient(t *testing.T, env []string, name, scope string) (id, secret string) {
	t.Helper()
	out := lattice(t, env, "", "client", "create", "--name", name, "--type", "confidential", "--grant", "client_credentials", "--scope", scope)
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "client_id="); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(line, "client_secret="); ok {
			secret = v
		}
	}
	require.NotEmpty(t, id, out)
	return id, secret
}

func call(t *testing.T, method, url, token, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// TestAuthJourney: an operator sets up the platform with the CLI; through
// the gateway a user signs up, logs in, mints an API key and uses it on
// auth and on the resource service; a service obtains a token with client
// credentials and checks the user's key by introspection; the process shuts
// down gracefully on SIGTERM.
func TestAuthJourney(t *testing.T) {
	env := testinfra.PlatformEnv(t)
	out := lattice(t, env, "an admin password\n", "user", "create-admin", "--email", "ops@example.com", "--name", "Ops")
	require.Contains(t, out, "created admin ops@example.com")
	clientID, clientSecret := serviceClient(t, env, "indexer", "search:read")
	require.True(t, strings.HasPrefix(clientSecret, "lcs_"))

	srv, base := testinfra.ServeAll(t, env)
	resBase := base

	status, _ := call(t, "POST", base+"/v1/users", "", "application/json", `{"email":"grace@example.com","password":"a long enough password","display_name":"Grace"}`)
	require.Equal(t, 201, status)
	status, login := call(t, "POST", base+"/v1/sessions", "", "application/json", `{"email":"grace@example.com","password":"a long enough password"}`)
	require.Equal(t, 201, status)
	session := login["token"].(string)

	status, key := call(t, "POST", base+"/v1/api-keys", session, "application/json", `{"name":"laptop","scopes":["users:read","search:read","resources:read","resources:write"]}`)
	require.Equal(t, 201, status)
	apiKey := key["secret"].(string)
	status, me := call(t, "GET", base+"/v1/users/me", apiKey, "", "")
	require.Equal(t, 200, status)
	require.Equal(t, "grace@example.com", me["email"])

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	status, tok := call(t, "POST", base+"/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode())
	require.Equal(t, 200, status)
	require.Equal(t, "search:read", tok["scope"])

	form = url.Values{"token": {apiKey}, "client_id": {clientID}, "client_secret": {clientSecret}}
	status, in := call(t, "POST", base+"/oauth2/introspect", "", "application/x-www-form-urlencoded", form.Encode())
	require.Equal(t, 200, status)
	require.Equal(t, true, in["active"])
	require.Equal(t, "resources:read resources:write search:read users:read", sortedScope(in["scope"].(string)))

	// The resource service checks the same API key through introspection.
	status, res := call(t, "POST", resBase+"/v1/resources", apiKey, "application/json", `{"title":"Notes","body":"hello","visibility":"public"}`)
	require.Equal(t, 201, status)
	status, got := call(t, "GET", resBase+"/v1/resources/"+res["id"].(string), "", "", "")
	require.Equal(t, 200, status, "public resources are readable anonymously")
	require.Equal(t, "Notes", got["title"])

	status, _ = call(t, "DELETE", base+"/v1/sessions/current", session, "", "")
	require.Equal(t, 204, status)
	status, _ = call(t, "GET", base+"/v1/users/me", session, "", "")
	require.Equal(t, 401, status)

	// The resource change reached the audit log, which an admin can read
	// and verify.
	status, opsLogin := call(t, "POST", base+"/v1/sessions", "", "application/json", `{"email":"ops@example.com","password":"an admin password"}`)
	require.Equal(t, 201, status)
	ops := opsLogin["token"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, page := call(t, "GET", base+"/v1/audit-events?action=resource.create", ops, "", "")
		require.Equal(t, 200, status)
		if items := page["items"].([]any); len(items) == 1 {
			require.Equal(t, "resource/"+res["id"].(string), items[0].(map[string]any)["target"])
			break
		}
		require.True(t, time.Now().Before(deadline), "the resource's creation never reached the audit log")
		time.Sleep(50 * time.Millisecond)
	}
	// So did Grace's own security actions, from the auth service's outbox.
	graceID := me["id"].(string)
	for _, action := range []string{"user.signed_up", "login.succeeded", "api_key.created", "session.revoked"} {
		for {
			status, page := call(t, "GET", base+"/v1/audit-events?actor="+graceID+"&action="+action, ops, "", "")
			require.Equal(t, 200, status)
			if items := page["items"].([]any); len(items) == 1 {
				if action == "user.signed_up" {
					require.Equal(t, "user/"+graceID, items[0].(map[string]any)["target"])
				}
				break
			}
			require.True(t, time.Now().Before(deadline), "%s never reached the audit log", action)
			time.Sleep(50 * time.Millisecond)
		}
	}
	status, verified := call(t, "POST", base+"/v1/audit-events/verify", ops, "application/json", `{}`)
	require.Equal(t, 200, status)
	require.Equal(t, true, verified["ok"])

	status, _ = call(t, "GET", base+"/readyz", "", "", "")
	require.Equal(t, 200, status)
	status, _ = call(t, "GET", base+"/metrics", "", "", "")
	require.Equal(t, 404, status, "the public door does not show metrics")
	status, _ = call(t, "GET", base+"/v1/api-keys", "", "", "")
	require.Equal(t, 401, status, "the gateway refuses auth-required routes without a credential")

	require.NoError(t, srv.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "a graceful shutdown exits 0")
	case <-ctx.Done():
		t.Fatal("lattice did not stop within 30s of SIGTERM")
	}
}

func sortedScope(s string) string {
	f := strings.Fields(s)
	slices.Sort(f)
	return strings.Join(f, " ")
}
