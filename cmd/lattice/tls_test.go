package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// mtlsRun is a running `serve --target=all` under mutual TLS.
type mtlsRun struct {
	addrs                 map[string]net.Addr // by listener name: "auth", "auth-admin"…
	withCert, withoutCert *http.Client
	dir                   string // the CA and certificates
	logs                  *testinfra.LogBuffer
	stop                  func() error
}

// serveWithMutualTLS runs every target under mutual TLS (with extra
// settings) and returns their listeners by name ("auth", "auth-admin"…),
// a client with a certificate of the CA and one without any.
func serveWithMutualTLS(t *testing.T, extra map[string]string) *mtlsRun {
	t.Helper()
	dir := t.TempDir()
	var out, errb strings.Builder
	require.NoError(t, cmdCerts([]string{"init", "--dir", dir}, &out, &errb))
	for _, svc := range []string{"lattice", "tester"} {
		require.NoError(t, cmdCerts([]string{"issue", "--dir", dir, "--service", svc, "--host", "127.0.0.1", "--host", "localhost"}, &out, &errb))
	}
	require.Error(t, cmdCerts([]string{"issue", "--dir", dir}, &out, &errb), "a service is required")

	env := targetEnv(t)
	env["TLS_CERT_FILE"], env["TLS_KEY_FILE"] = filepath.Join(dir, "lattice.crt"), filepath.Join(dir, "lattice.key")
	env["TLS_CA_FILE"], env["TLS_CLIENT_CA"] = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.crt")
	env["LOG_LEVEL"] = "info"
	maps.Copy(env, extra)
	logs := &testinfra.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var mu sync.Mutex
	addrs := map[string]net.Addr{}
	want := 2 * len(targetNames())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, []string{"--target=all"}, logs, io.Discard, envMap(env), func(name string, a net.Addr) {
			mu.Lock()
			defer mu.Unlock()
			if addrs[name] = a; len(addrs) == want {
				close(ready)
			}
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	case <-time.After(90 * time.Second):
		t.Fatal("serve did not start")
	}

	tester, err := tlsfiles.Open(tlsfiles.Files{Cert: filepath.Join(dir, "tester.crt"), Key: filepath.Join(dir, "tester.key"), CA: filepath.Join(dir, "ca.crt")})
	require.NoError(t, err)
	withCert := &http.Client{Transport: tester.Transport(), Timeout: 10 * time.Second}
	t.Cleanup(withCert.CloseIdleConnections)
	anonymous := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}} //nolint:gosec // the server side is under test
	withoutCert := &http.Client{Transport: anonymous, Timeout: 10 * time.Second}
	t.Cleanup(withoutCert.CloseIdleConnections)
	return &mtlsRun{addrs: addrs, withCert: withCert, withoutCert: withoutCert, dir: dir, logs: logs,
		stop: func() error { cancel(); return <-done }}
}

// TestEveryListenerServesMutualTLS mints a CA and certificates with
// `lattice certs`, serves every target in one process with TLS and client
// certificates required, and checks that every public and internal
// listener answers a caller with a certificate over TLS 1.3, refuses one
// without, and that the services reach each other over mTLS (the gateway
// proxies to resource, resource verifies with auth's keys).
func TestEveryListenerServesMutualTLS(t *testing.T) {
	t.Parallel()
	run := serveWithMutualTLS(t, nil)
	addrs, withCert, withoutCert, dir, logs := run.addrs, run.withCert, run.withoutCert, run.dir, run.logs
	for _, name := range targetNames() {
		for listener, path := range map[string]string{name: "/healthz", name + "-admin": "/metrics"} {
			url := "https://" + addrs[listener].String() + path
			resp, err := withCert.Get(url)
			require.NoError(t, err, listener)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, listener)
			require.Equal(t, uint16(tls.VersionTLS13), resp.TLS.Version, listener)
			if path == "/metrics" {
				require.Contains(t, string(body), `lattice_tls_certificate_expiry_timestamp_seconds{kind="serving"}`, "%s says when its certificate expires", listener)
			}
			_, err = withoutCert.Get(url)
			require.Error(t, err, "%s answered a caller without a client certificate", listener)
			// Plain HTTP gets only Go's "HTTP request to an HTTPS server" 400.
			if resp, err := http.Get("http://" + addrs[listener].String() + path); err == nil {
				resp.Body.Close()
				require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s answered plain HTTP", listener)
			}
		}
	}

	// Through the gateway to resource (mTLS between them), anonymously:
	// public resources only, an empty page on a new store.
	resp, err := withCert.Get("https://" + addrs["gateway"].String() + "/v1/resources")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	// The service client's token (resources:admin) is honoured only from
	// the certificate of a target that calls with it: processing, which
	// this process runs under the certificate "lattice". The tester's
	// certificate does not do, directly or through the gateway.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"a-client"}, "client_secret": {"its-secret"}}
	resp, err = withCert.PostForm("https://"+addrs["auth"].String()+"/oauth2/token", form)
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	require.NotEmpty(t, tok.AccessToken)
	own, err := tlsfiles.Open(tlsfiles.Files{Cert: filepath.Join(dir, "lattice.crt"), Key: filepath.Join(dir, "lattice.key"), CA: filepath.Join(dir, "ca.crt")})
	require.NoError(t, err)
	asProcessing := &http.Client{Transport: own.Transport(), Timeout: 10 * time.Second}
	defer asProcessing.CloseIdleConnections()
	list := func(client *http.Client, target string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "https://"+addrs[target].String()+"/v1/resources", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, problem := list(withCert, "resource")
	require.Equal(t, http.StatusForbidden, status, problem)
	require.Contains(t, problem, "service credential")
	require.NotContains(t, problem, "a-client", "the refusal names no client")
	status, problem = list(withCert, "gateway")
	require.Equal(t, http.StatusForbidden, status, problem)
	status, problem = list(asProcessing, "resource")
	require.Equal(t, http.StatusOK, status, problem)

	require.NoError(t, run.stop())
	// Callers are logged by their certificate's service identity.
	require.Contains(t, logs.String(), `"peer":"tester"`)
	require.Contains(t, logs.String(), `"peer":"lattice"`, "the gateway's call to resource")
}

// TestAdminListenersCanTakeProbesWithoutCertificates: with
// ADMIN_CLIENT_CERTS=optional, a caller without a certificate (a kubelet's
// probe) reaches every admin listener over TLS, and still no public one.
func TestAdminListenersCanTakeProbesWithoutCertificates(t *testing.T) {
	t.Parallel()
	run := serveWithMutualTLS(t, map[string]string{"ADMIN_CLIENT_CERTS": "optional"})
	addrs, withoutCert := run.addrs, run.withoutCert
	for _, name := range targetNames() {
		resp, err := withoutCert.Get("https://" + addrs[name+"-admin"].String() + "/readyz")
		require.NoError(t, err, name)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, name)
		_, err = withoutCert.Get("https://" + addrs[name].String() + "/healthz")
		require.Error(t, err, "%s's public listener answered a caller without a certificate", name)
	}
	require.NoError(t, run.stop())
}
