package proxy_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/services/gateway/legacysession"
	"github.com/lattice-platform/lattice/services/gateway/proxy"
	"github.com/lattice-platform/lattice/services/gateway/routing"
)

// monolithSessions is a fake exchanger: "monolith-ok" becomes the Lattice
// token "good", "monolith-forged" is refused, "monolith-down" cannot be
// checked.
type monolithSessions struct{}

func (monolithSessions) Exchange(_ context.Context, legacy string) (string, error) {
	switch legacy {
	case "monolith-ok":
		return "good", nil
	case "monolith-down":
		return "", errors.New("auth is unreachable")
	}
	return "", legacysession.ErrRejected
}

// TestLegacySessionsAreExchanged: a token Lattice does not know is tried
// as a legacy session; the upstream sees the Lattice token in its place,
// and the client gets it in a header. A refused one is a 401 as any bad
// credential is; an exchange that could not be made is a 503.
func TestLegacySessionsAreExchanged(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 10)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("Authorization")
	}))
	defer upstream.Close()
	cfg, err := routing.Parse([]byte(routesYAML), map[string]bool{"resource": true, "auth": true})
	require.NoError(t, err)
	u, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	gw := proxy.New(cfg, map[string][]*url.URL{"resource": {u}}, tokens{}, tokenbucket.New(), 1<<20, slog.New(slog.DiscardHandler))
	gw.AcceptLegacySessions(monolithSessions{})
	srv := httptest.NewServer(gw)
	defer srv.Close()

	resp := get(t, srv.URL+"/v1/private/x", "monolith-ok")
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "Bearer good", <-seen, "the upstream gets the Lattice token")
	require.Equal(t, "good", resp.Header.Get(legacysession.Header), "the client gets it too")

	resp = get(t, srv.URL+"/v1/private/x", "good")
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "Bearer good", <-seen)
	require.Empty(t, resp.Header.Get(legacysession.Header), "a Lattice token is not exchanged")

	for token, want := range map[string]int{"monolith-forged": http.StatusUnauthorized, "monolith-down": http.StatusServiceUnavailable} {
		resp = get(t, srv.URL+"/v1/maybe/x", token)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, token)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		require.Empty(t, resp.Header.Get(legacysession.Header))
	}
	require.Empty(t, seen, "refused requests never reach the upstream")
}
