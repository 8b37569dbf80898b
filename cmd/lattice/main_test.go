package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
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
	env := envMap(map[string]string{"AUTH_DATABASE_URL": testinfra.Postgres(t), "AUTH_ADDR": "127.0.0.1:0"})
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, []string{"--target=auth"}, io.Discard, io.Discard, env, func(_ string, a net.Addr) { addrs <- a })
	}()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	resp, err := http.Get("http://" + addr.String() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
}
