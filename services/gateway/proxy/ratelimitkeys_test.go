package proxy_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

// keyRecorder is a shared limiter (as Redis is: one budget per key,
// whatever limit is asked) that records the keys it is asked about.
type keyRecorder struct {
	mu   sync.Mutex
	keys []string
}

func (k *keyRecorder) Allow(_ context.Context, key string, _ ports.RateLimit) (ports.RateDecision, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append(k.keys, key)
	return ports.RateDecision{Allowed: true, Remaining: 1}, nil
}

// TestEachClassHasItsOwnBudgetKeys: a route of the credentials class and
// one of the default class spend different keys for the same address, so
// that exhausting the tight class does not limit the address everywhere.
func TestEachClassHasItsOwnBudgetKeys(t *testing.T) {
	rec := &keyRecorder{}
	svc, err := gatewaysvc.New(gatewaysvc.Config{Verifier: anyUser{}, Limiter: rec,
		Upstreams: map[string]string{"auth": "http://127.0.0.1:1", "resource": "http://127.0.0.1:1"}}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	gw := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	defer gw.Close()
	for _, path := range []string{"/v1/sessions", "/v1/resources"} {
		resp, err := http.Post(gw.URL+path, "application/json", strings.NewReader(`{}`))
		require.NoError(t, err)
		resp.Body.Close()
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.keys, 2)
	require.NotEqual(t, rec.keys[0], rec.keys[1])
	require.True(t, strings.HasPrefix(rec.keys[0], "ip:credentials:"), rec.keys[0])
	require.True(t, strings.HasPrefix(rec.keys[1], "ip:default:"), rec.keys[1])
}
