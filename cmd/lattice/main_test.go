package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var out, errb bytes.Buffer
	require.NoError(t, run(ctx, []string{"version"}, nil, &out, &errb, envMap(nil)))
	require.Equal(t, "lattice dev\n", out.String())

	err := run(ctx, []string{"frobnicate"}, nil, &out, &errb, envMap(nil))
	require.ErrorContains(t, err, `unknown command "frobnicate"`)
	require.ErrorContains(t, run(ctx, nil, nil, &out, &errb, envMap(nil)), "no command")

	err = run(ctx, []string{"serve", "--target=nope"}, nil, &out, &errb, envMap(nil))
	require.ErrorContains(t, err, "unknown target")
}

func TestBadConfigurationIsReportedAllAtOnce(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"serve"}, nil, &out, &errb, envMap(map[string]string{
		"AUTH_SESSION_TTL": "forever", "HTTP_MAX_BODY_BYTES": "-1", "AUTH_KEY_ENCRYPTION_KEY": "c2VjcmV0LWJ1dC1zaG9ydA==",
	}))
	require.ErrorContains(t, err, "AUTH_SESSION_TTL")
	require.ErrorContains(t, err, "HTTP_MAX_BODY_BYTES")
	require.ErrorContains(t, err, "AUTH_KEY_ENCRYPTION_KEY")
	require.NotContains(t, err.Error(), "c2VjcmV0LWJ1dC1zaG9ydA==", "secrets never appear in errors")
}

// TestServeOnPortZero runs the real serve command on a free port, checks
// it answers, and stops it by cancelling its context.
func TestServeOnPortZero(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	env := envMap(map[string]string{"AUTH_DATABASE_URL": testinfra.Postgres(t), "AUTH_ADDR": "127.0.0.1:0", "AUTH_ADMIN_ADDR": "127.0.0.1:0",
		"LATTICE_DATA_DIR": t.TempDir()})
	addrs := make(chan map[string]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		seen := map[string]net.Addr{}
		done <- cmdServe(ctx, []string{"--target=auth"}, io.Discard, io.Discard, env, func(name string, a net.Addr) {
			if seen[name] = a; len(seen) == 2 {
				addrs <- seen
			}
		})
	}()
	var addr map[string]net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	status := func(url string) int {
		resp, err := http.Get(url)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, status("http://"+addr["auth"].String()+"/healthz"))
	require.Equal(t, http.StatusNotFound, status("http://"+addr["auth"].String()+"/metrics"), "no metrics on the public port")
	require.Equal(t, http.StatusOK, status("http://"+addr["auth-admin"].String()+"/metrics"), "metrics on the internal one")
	cancel()
	require.NoError(t, <-done)
}

func TestAnalyticsAloneRefusesToStartWithoutAConfiguredKey(t *testing.T) {
	t.Parallel()
	var errb strings.Builder
	err := cmdServe(context.Background(), []string{"--target=analytics"}, io.Discard, &errb,
		envMap(map[string]string{"LATTICE_DATA_DIR": t.TempDir()}), nil)
	require.ErrorContains(t, err, "ANALYTICS_AUDIT_SIGNING_KEY")
}
