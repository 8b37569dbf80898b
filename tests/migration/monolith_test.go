// Package migration_test proves the migration kit against a real Python
// monolith (examples/monolith: FastAPI, SQLAlchemy, passlib, PyJWT) started
// the way its run script starts it, on loopback, with its own database.
package migration_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/openapi"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/freeport"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

// python is Debian's interpreter, which sees Debian's python3-* packages;
// the python3 first on the PATH may be another.
const python = "/usr/bin/python3"

// requireMonolithPackages skips the test when the monolith's Python
// packages are missing, and fails it in CI, where .ci/run installs them.
func requireMonolithPackages(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import fastapi, uvicorn, sqlalchemy, passlib, jwt, psycopg2, bcrypt").CombinedOutput()
	if err == nil {
		return
	}
	const install = "apt-get install python3-fastapi python3-uvicorn python3-sqlalchemy python3-passlib python3-jwt python3-psycopg2 python3-bcrypt"
	if os.Getenv("CI") != "" {
		t.Fatalf("the reference monolith's packages are missing in CI (%s): %s", install, out)
	}
	t.Skipf("the reference monolith needs Debian's Python packages: %s", install)
}

// seeded is seed.py's summary.
type seeded struct {
	Users []struct {
		Email, Password, Scheme string
	}
	Resources int
	Files     int
	Bad       map[string][]int
}

// monolith is a running reference monolith.
type monolith struct {
	URL         string // http://127.0.0.1:port
	DatabaseURL string // its PostgreSQL database (a pgx DSN)
	FilesDir    string // where its files are
	SecretFile  string // its HS256 session secret
	// IntrospectionSecretFile is the bearer token its RFC 7662 endpoint
	// (POST /v1/sessions/introspect) requires.
	IntrospectionSecretFile string
	Seeded                  seeded

	port, state string
	proc        *exec.Cmd
}

// startMonolith seeds a new database with seedArgs (seed.py's flags), serves
// the monolith on a free loopback port until t ends, and waits until it
// answers.
func startMonolith(t *testing.T, seedArgs ...string) *monolith {
	t.Helper()
	requireMonolithPackages(t)
	db := testinfra.Postgres(t)
	addr, err := freeport.Addr()
	require.NoError(t, err)
	state := t.TempDir()
	introspection := filepath.Join(state, "introspection-secret")
	require.NoError(t, os.WriteFile(introspection, []byte(rand.Text()+"\n"), 0o600))
	m := &monolith{URL: "http://" + addr, DatabaseURL: db, FilesDir: filepath.Join(state, "files"),
		SecretFile: filepath.Join(state, "session-secret"), IntrospectionSecretFile: introspection,
		port: addr[strings.LastIndexByte(addr, ':')+1:], state: state}
	t.Cleanup(m.stop)
	m.serve(t, append([]string{"--seed"}, seedArgs...), nil)
	return m
}

// restart serves the monolith again on its database and port, with env
// added to its settings (the change feed's, say).
func (m *monolith) restart(t *testing.T, env ...string) {
	t.Helper()
	m.stop()
	m.serve(t, nil, env)
}

func (m *monolith) stop() {
	if m.proc != nil {
		_ = m.proc.Process.Kill()
		_ = m.proc.Wait()
		m.proc = nil
	}
}

// serve runs examples/monolith/run with args; with --seed, it reads the
// seed summary first.
func (m *monolith) serve(t *testing.T, args, env []string) {
	t.Helper()
	cmd := exec.Command("../../examples/monolith/run", append([]string{"--port", m.port}, args...)...)
	cmd.Env = append(os.Environ(), "MONOLITH_STATE="+m.state, "MONOLITH_INTROSPECTION_SECRET_FILE="+m.IntrospectionSecretFile,
		// SQLAlchemy names the dialect postgresql://; the DSN is otherwise the same.
		"MONOLITH_DATABASE_URL="+strings.Replace(m.DatabaseURL, "postgres://", "postgresql://", 1))
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr := &testinfra.LogBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	m.proc = cmd
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("monolith stderr:\n%s", stderr.String())
		}
	})
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	if slices.Contains(args, "--seed") {
		require.True(t, lines.Scan(), "seed.py printed no summary: %s", stderr.String())
		require.NoError(t, json.Unmarshal(lines.Bytes(), &m.Seeded))
	}
	go func() { // drain: uvicorn writes little, but must never block on a full pipe
		for lines.Scan() {
		}
	}()
	client := &http.Client{Timeout: time.Second}
	testinfra.Within(t, time.Minute, "the monolith answers", func() bool {
		resp, err := client.Get(m.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// call sends a JSON request and decodes a JSON answer.
func call(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	return callObserving(t, method, url, token, body, nil)
}

// callObserving is call, showing the response headers to seen (when not
// nil).
func callObserving(t *testing.T, method, url, token string, body any, seen func(http.Header)) (int, map[string]any) {
	t.Helper()
	var payload *strings.Reader
	if body == nil {
		payload = strings.NewReader("")
	} else {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		payload = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, payload)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := http.DefaultClient
	if strings.HasPrefix(req.URL.Path, "/v1/migration/routes") {
		// The gateway's migration API is Lattice's contract: its answers
		// are checked against gateway.yaml (and recorded for the
		// contract-coverage gate). The tests send bad requests on purpose.
		client = migrationAPIClient(t)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if seen != nil {
		seen(resp.Header)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestTheMonolithIsARealApplication checks the fixture itself: seeded users
// of both hash generations log in; a resource is created, a file uploaded,
// and the background job processes it; the bad rows are there to be found.
func TestTheMonolithIsARealApplication(t *testing.T) {
	m := startMonolith(t, "--users", "9", "--resources-per-user", "2")
	require.Len(t, m.Seeded.Users, 9)
	require.Equal(t, 18, m.Seeded.Resources)
	require.Equal(t, 20, m.Seeded.Files, "one per resource, a missing one and an oversize one")
	for _, bad := range []string{"invalid_email", "duplicate_email", "missing_file", "oversize_file"} {
		require.Len(t, m.Seeded.Bad[bad], 1, bad)
	}
	schemes := map[string]bool{}
	var token string
	for _, u := range m.Seeded.Users[:3] {
		status, out := call(t, "POST", m.URL+"/v1/sessions", "", map[string]string{"email": u.Email, "password": u.Password})
		require.Equal(t, http.StatusCreated, status, "%s (%s): %v", u.Email, u.Scheme, out)
		schemes[u.Scheme] = true
		token = out["access_token"].(string)
	}
	require.Equal(t, map[string]bool{"pbkdf2_sha256": true, "bcrypt": true}, schemes)
	status, _ := call(t, "POST", m.URL+"/v1/sessions", "", map[string]string{"email": m.Seeded.Users[1].Email, "password": "wrong"})
	require.Equal(t, http.StatusUnauthorized, status)

	status, res := call(t, "POST", m.URL+"/v1/resources", token, map[string]any{"title": "Tide log", "body": "low water at six", "tags": []string{"tides"}})
	require.Equal(t, http.StatusCreated, status, "%v", res)
	rid := int(res["id"].(float64))
	req, _ := http.NewRequest("POST", m.URL+"/v1/resources/"+strconv.Itoa(rid)+"/files?name=log.txt", strings.NewReader("one two three four"))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	testinfra.Within(t, 30*time.Second, "the upload's background job is done", func() bool {
		status, jobs := call(t, "GET", m.URL+"/v1/jobs?resource_id="+strconv.Itoa(rid), token, nil)
		require.Equal(t, http.StatusOK, status)
		items := jobs["items"].([]any)
		return len(items) == 1 && items[0].(map[string]any)["state"] == "done" && items[0].(map[string]any)["word_count"] == float64(4)
	})
}

// gatewaySpec is gateway.yaml, parsed once.
var gatewaySpec = sync.OnceValues(func() (*openapi3.T, error) { return openapi.Load("gateway") })

// migrationAPIClient is an HTTP client that checks answers against the
// gateway's contract.
func migrationAPIClient(t *testing.T) *http.Client {
	t.Helper()
	spec, err := gatewaySpec()
	require.NoError(t, err)
	tr := speccheck.New(t, spec)
	tr.SkipRequestValidation = true
	return &http.Client{Transport: tr}
}
