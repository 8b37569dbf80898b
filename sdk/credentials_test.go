package lattice_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	lattice "github.com/lattice-platform/lattice/sdk"
)

// authServer answers discovery, the token endpoint (client credentials,
// HTTP Basic) and GET /v1/users/me for the token it issued.
func authServer(t *testing.T, issuer func(self string) string) (string, *atomic.Int32) {
	t.Helper()
	var tokens atomic.Int32
	var self string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server":
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": issuer(self), "token_endpoint": self + "/oauth2/token"})
		case "/oauth2/token":
			id, secret, ok := r.BasicAuth()
			if !ok || id != "reports" || secret != "lcs_secret" || r.FormValue("grant_type") != "client_credentials" || r.FormValue("scope") != "users:read" {
				w.WriteHeader(401)
				_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
				return
			}
			tokens.Add(1)
			_, _ = w.Write([]byte(`{"access_token":"at-1","token_type":"Bearer","expires_in":900}`))
		case "/v1/users/me":
			if r.Header.Get("Authorization") != "Bearer at-1" {
				w.WriteHeader(401)
				return
			}
			_, _ = w.Write([]byte(`{"id":"0193a1f0-0000-7000-8000-0000000000aa","email":"svc@example.com","display_name":"S","role":"user","created_at":"2026-01-01T00:00:00Z"}`))
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	self = srv.URL
	return srv.URL, &tokens
}

func TestClientCredentialsFindTheTokenEndpointByDiscovery(t *testing.T) {
	url, tokens := authServer(t, func(self string) string { return self })
	c, err := lattice.New(url, lattice.WithClientCredentials("reports", "lcs_secret", "users:read"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		me, err := c.Auth.Me(context.Background())
		if err != nil || me.Email != "svc@example.com" {
			t.Fatalf("Me = %+v, %v", me, err)
		}
	}
	if tokens.Load() != 1 {
		t.Fatalf("%d tokens fetched for three calls, want one (cached)", tokens.Load())
	}
}

func TestMetadataOfAnotherIssuerIsRefused(t *testing.T) {
	url, tokens := authServer(t, func(string) string { return "https://elsewhere.example" })
	c, err := lattice.New(url, lattice.WithClientCredentials("reports", "lcs_secret", "users:read"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Auth.Me(context.Background())
	if err == nil || !strings.Contains(err.Error(), "issuer") || tokens.Load() != 0 {
		t.Fatalf("err = %v after %d token requests", err, tokens.Load())
	}
	if strings.Contains(err.Error(), "lcs_secret") {
		t.Fatalf("the error shows the secret: %v", err)
	}
}

func TestAWrongSecretIsAnErrorWithoutTheSecret(t *testing.T) {
	url, _ := authServer(t, func(self string) string { return self })
	c, err := lattice.New(url, lattice.WithClientCredentials("reports", "lcs_wrong", "users:read"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Auth.Me(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "lcs_wrong") {
		t.Fatalf("err = %v", err)
	}
}

// The discovery document is read up to a bound: a larger one is refused,
// not buffered.
func TestAnOversizedDiscoveryDocumentIsRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"padding":"` + strings.Repeat("x", 300<<10) + `","issuer":"x","token_endpoint":"http://x/token"}`))
	}))
	t.Cleanup(srv.Close)
	c, err := lattice.New(srv.URL, lattice.WithClientCredentials("reports", "lcs_secret"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Auth.Me(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("err = %v", err)
	}
}
