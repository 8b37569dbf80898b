package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/analytics/analyticssvc"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
	"github.com/lattice-platform/lattice/services/search/searchsvc"
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

// TestEverySecretTakesAFile: each setting that holds a secret (or a URL
// that may carry one) can also be given as <NAME>_FILE, the form
// Kubernetes secrets and a Vault agent provide.
func TestEverySecretTakesAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{}
	file := func(name, value string) {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(value+"\n"), 0o600))
		env[name+"_FILE"] = path
	}
	seed := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for name, value := range map[string]string{
		"AUTH_DATABASE_URL": "postgres://a:pw@db/auth", "RESOURCE_DATABASE_URL": "u:pw@tcp(db)/resource",
		"SEARCH_DATABASE_URL": "u:pw@tcp(db)/search", "ANALYTICS_DATABASE_URL": "postgres://a:pw@db/analytics",
		"ANALYTICS_CLICKHOUSE_URL": "http://u:pw@ch:8123", "REDIS_URL": "redis://:pw@redis:6379",
		"NATS_URL": "nats://u:pw@nats:4222", "LATTICE_SERVICE_CLIENT_SECRET": "client-secret",
		"S3_ACCESS_KEY": "access", "S3_SECRET_KEY": "s3-secret", "EMBEDDINGS_API_KEY": "embed-key",
		"AUTH_KEY_ENCRYPTION_KEY": seed, "ANALYTICS_AUDIT_SIGNING_KEY": seed,
	} {
		file(name, value)
	}
	e := config.FromMap(env)
	cfg, err := loadConfig(e)
	require.NoError(t, err)
	s := cfg.Settings
	require.Equal(t, []string{"redis://:pw@redis:6379", "nats://u:pw@nats:4222", "client-secret", "access", "s3-secret", "embed-key"},
		[]string{s.RedisURL, s.NATSURL, s.ServiceClientSecret, s.S3.AccessKey, s.S3.SecretKey, s.Embeddings.APIKey})
	auth := authsvc.LoadConfig(e, s)
	require.Equal(t, "postgres://a:pw@db/auth", auth.DatabaseURL)
	require.Len(t, auth.KeyEncKey, 32)
	require.Equal(t, "u:pw@tcp(db)/resource", resourcesvc.LoadConfig(e).DatabaseURL)
	require.Equal(t, "u:pw@tcp(db)/search", searchsvc.LoadConfig(e).DatabaseURL)
	analytics := analyticssvc.LoadConfig(e, s)
	require.Equal(t, []string{"postgres://a:pw@db/analytics", "http://u:pw@ch:8123"}, []string{analytics.DatabaseURL, analytics.ClickHouseURL})
	require.Len(t, analytics.SigningKeySeed, 32)
	require.NoError(t, e.Err())
}

// TestStoppingTurnsReadinessOffBeforeTheListenersClose: on a stop (SIGTERM
// ends the context) /readyz answers 503 for SHUTDOWN_DRAIN_DELAY while the
// service still serves, so load balancers move away before it closes.
func TestStoppingTurnsReadinessOffBeforeTheListenersClose(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := envMap(map[string]string{"AUTH_DATABASE_URL": testinfra.Postgres(t), "AUTH_ADDR": "127.0.0.1:0", "AUTH_ADMIN_ADDR": "off",
		"LATTICE_DATA_DIR": t.TempDir(), "SHUTDOWN_DRAIN_DELAY": "5s", "LOG_LEVEL": "warn"})
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, []string{"--target=auth"}, io.Discard, io.Discard, env, func(_ string, a net.Addr) { addr <- a })
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	status := func(path string) int {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, status("/readyz"))
	cancel()
	deadline := time.Now().Add(4 * time.Second)
	for status("/readyz") != http.StatusServiceUnavailable {
		require.True(t, time.Now().Before(deadline), "/readyz never turned false")
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, http.StatusOK, status("/healthz"), "still serving while draining")
	require.NoError(t, <-done)
	_, err := http.Get(base + "/healthz")
	require.Error(t, err, "closed after the drain delay")
}

func TestAMySQLCAThatCannotBeReadIsAConfigurationError(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(config.FromMap(map[string]string{"MYSQL_TLS_CA_FILE": filepath.Join(t.TempDir(), "missing.crt")}))
	require.ErrorContains(t, err, "MYSQL_TLS_CA_FILE")
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	_, err = loadConfig(config.FromMap(map[string]string{"MYSQL_TLS_CA_FILE": notPEM}))
	require.ErrorContains(t, err, "no PEM certificate")
}
