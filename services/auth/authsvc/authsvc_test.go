package authsvc_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/argon2id"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func start(t testing.TB, params argon2id.Params) (*authsvc.Service, *httptest.Server) {
	t.Helper()
	svc, err := authsvc.New(context.Background(), authsvc.Config{
		DatabaseURL: testinfra.Postgres(t), Issuer: "http://auth.test", SessionTTL: time.Hour, Argon2: params,
	}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	srv := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	t.Cleanup(srv.Close)
	return svc, srv
}

// TestServiceStartsTwiceOnOneDatabase checks that start-up (database
// creation, migrations, the first signing key) is safe to repeat, as it is
// on every restart.
func TestServiceStartsTwiceOnOneDatabase(t *testing.T) {
	t.Parallel()
	dsn := testinfra.Postgres(t)
	for range 2 {
		svc, err := authsvc.New(context.Background(), authsvc.Config{DatabaseURL: dsn, Issuer: "http://auth.test",
			Argon2: argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}}, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		keys, err := svc.App.PublishedKeys(context.Background())
		require.NoError(t, err)
		require.Len(t, keys, 1, "one signing key, created once")
		svc.Close()
	}
}

// BenchmarkClientCredentialsHTTP measures client_credentials tokens issued
// per second through HTTP, validation and PostgreSQL.
func BenchmarkClientCredentialsHTTP(b *testing.B) {
	svc, srv := start(b, argon2id.OWASP)
	nc, err := svc.App.RegisterClient(context.Background(), app.ClientInput{Name: "bench", Type: domain.ClientConfidential,
		GrantTypes: []string{domain.GrantClientCredentials}, Scopes: []string{"resources:read"}})
	require.NoError(b, err)
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	client := srv.Client()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth2/token", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(nc.Client.ID, nc.Secret)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var body struct {
				AccessToken string `json:"access_token"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkLoginHTTP measures a password login (POST /v1/sessions) with the
// production Argon2id parameters, end to end.
func BenchmarkLoginHTTP(b *testing.B) {
	svc, srv := start(b, argon2id.OWASP)
	_, err := svc.App.SignUp(context.Background(), app.SignUpInput{Email: "bench@example.com", Password: "correct horse battery", DisplayName: "B"})
	require.NoError(b, err)
	body := `{"email":"bench@example.com","password":"correct horse battery"}`
	b.ReportAllocs()
	for b.Loop() {
		resp, err := srv.Client().Post(srv.URL+"/v1/sessions", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
