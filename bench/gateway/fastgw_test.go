package main

import (
	"crypto/ed25519"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/lattice-platform/lattice/pkg/adapters/jose"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// TestFastGatewayDoesTheGatewaysWork: the fast-gw floor only counts if it
// does what it claims: a signed token passes and reaches the upstream
// without its credential and with the caller's address, a forged or
// missing one is refused, the budgets refuse past their burst, and each
// forwarded request leaves a log line.
func TestFastGatewayDoesTheGatewaysWork(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		_, _ = io.WriteString(w, "from upstream")
	}))
	defer upstream.Close()
	key := domain.SigningKey{ID: "k1", Private: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)), CreatedAt: time.Now()}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b, err := jose.JWKS([]domain.SigningKey{key})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(b)
	}))
	defer jwks.Close()
	now := time.Now()
	token, err := jose.NewSigner().Sign(domain.AccessClaims{Issuer: "https://auth.test", Subject: "user-1",
		Audience: []string{"lattice"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour), ID: "jti-1",
		Scopes: []string{"resources:read"}, ClientID: "app"}, key)
	require.NoError(t, err)

	up, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	var logs testinfra.LogBuffer
	limit := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 2}
	srv := &fasthttp.Server{Handler: fastGateway(up, jwks.URL, "https://auth.test", limit, slog.New(slog.NewJSONHandler(&logs, nil))),
		// Its worker pool's cleaner sleeps this long between rounds,
		// past Shutdown: short, so that it has ended when the leak check runs.
		MaxIdleWorkerDuration: 10 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		require.NoError(t, srv.Shutdown())
		require.NoError(t, <-served)
	}()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/v1/resources/x", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	status, body := get("Bearer " + token)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "from upstream", body)
	forged := token[:len(token)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(token, "AA")]
	status, _ = get("Bearer " + forged)
	require.Equal(t, http.StatusUnauthorized, status, "a forged signature")
	status, _ = get("")
	require.Equal(t, http.StatusUnauthorized, status, "no token")
	status, _ = get("Bearer " + token)
	require.Equal(t, http.StatusOK, status, "the burst's second request")
	status, _ = get("Bearer " + token)
	require.Equal(t, http.StatusTooManyRequests, status, "past the burst")

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 2, "only the two admitted requests reach the upstream")
	for _, h := range seen {
		require.Empty(t, h.Get("Authorization"), "the credential stays at the gateway")
		require.Equal(t, "127.0.0.1", h.Get("X-Forwarded-For"))
		require.NotEmpty(t, h.Get("X-Request-ID"))
	}
	require.Equal(t, 2, strings.Count(logs.String(), `"status":200`), logs.String())
	require.Contains(t, logs.String(), `"subject":"user-1"`)
}
