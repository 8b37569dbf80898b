package contract_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/memory"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenverify"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

// startGateway puts the gateway in front of a platform, verifying tokens
// against auth's JWKS over HTTP with production settings.
func startGateway(t *testing.T, p *platform) string {
	t.Helper()
	verifier := tokenverify.New(tokenverify.Config{Issuer: p.auth.url, Audience: "lattice",
		Fetch: tokenverify.FetchJWKS(p.auth.url+"/.well-known/jwks.json", http.DefaultClient)})
	svc, err := gatewaysvc.New(gatewaysvc.Config{
		Verifier: verifier, Limiter: memory.NewRateLimiter(),
		Upstreams: map[string]string{"auth": p.auth.url, "resource": p.url},
	}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	srv := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	t.Cleanup(srv.Close)
	return srv.URL
}

func serviceToken(t *testing.T, authURL, id, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, authURL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, jsonDecode(resp.Body, &body))
	require.NotEmpty(t, body.AccessToken)
	return body.AccessToken
}

// TestGatewayAcceptsAFreshlyRotatedKeyAtOnce: right after the gateway has
// fetched the JWKS, the signing key is rotated; a token signed with the new
// key is accepted on the very next request.
func TestGatewayAcceptsAFreshlyRotatedKeyAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPlatform(t)
	gw := startGateway(t, p)
	robot, err := p.auth.svc.App.RegisterClient(ctx, clientInput("robot", "resources:read"))
	require.NoError(t, err)

	list := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, gw+"/v1/resources", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, list(serviceToken(t, p.auth.url, robot.Client.ID, robot.Secret)))

	_, err = p.auth.svc.App.RotateKeys(ctx)
	require.NoError(t, err)
	fresh := serviceToken(t, p.auth.url, robot.Client.ID, robot.Secret)
	require.Equal(t, 200, list(fresh), "the new key is fetched on first sight")

	require.Equal(t, 401, list("forged.token.value"))
	resp, err := http.Get(gw + "/v1/nothing-here")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 404, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
}
