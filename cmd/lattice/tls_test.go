package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// TestEveryListenerServesMutualTLS mints a CA and certificates with
// `lattice certs`, serves every target in one process with TLS and client
// certificates required, and checks that every public and internal
// listener answers a caller with a certificate over TLS 1.3, refuses one
// without, and that the services reach each other over mTLS (the gateway
// proxies to resource, resource verifies with auth's keys).
func TestEveryListenerServesMutualTLS(t *testing.T) {
	t.Parallel()
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
	logs := &testinfra.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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
	defer withCert.CloseIdleConnections()
	anonymous := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}} //nolint:gosec // the server side is under test
	withoutCert := &http.Client{Transport: anonymous, Timeout: 10 * time.Second}
	defer withoutCert.CloseIdleConnections()
	for _, name := range targetNames() {
		for listener, path := range map[string]string{name: "/healthz", name + "-admin": "/metrics"} {
			url := "https://" + addrs[listener].String() + path
			resp, err := withCert.Get(url)
			require.NoError(t, err, listener)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, listener)
			require.Equal(t, uint16(tls.VersionTLS13), resp.TLS.Version, listener)
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
	cancel()
	require.NoError(t, <-done)
	// Callers are logged by their certificate's service identity.
	require.Contains(t, logs.String(), `"peer":"tester"`)
	require.Contains(t, logs.String(), `"peer":"lattice"`, "the gateway's call to resource")
}
