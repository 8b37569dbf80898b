package contract_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenverify"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
	"github.com/lattice-platform/lattice/services/resource/oapi"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
)

// platform is auth plus the resource service, which verifies credentials
// against auth over HTTP exactly as in production: JWTs through the JWKS,
// API keys through introspection as a registered confidential client.
type platform struct {
	auth      *authEnv
	resource  *resourcesvc.Service
	url       string
	client    *oapi.ClientWithResponses
	transport *speccheck.Transport
	verifier  *tokenverify.Verifier
}

// platformOption adjusts the resource service's configuration.
type platformOption func(*resourcesvc.Config)

func startPlatform(t testing.TB, opts ...platformOption) *platform {
	t.Helper()
	ctx := context.Background()
	a := startAuth(t)
	internal, err := a.svc.App.RegisterClient(ctx, app.ClientInput{Name: "lattice-services", Type: domain.ClientConfidential,
		GrantTypes: []string{domain.GrantClientCredentials}})
	require.NoError(t, err)
	verifier := tokenverify.New(tokenverify.Config{
		Issuer: a.url, Audience: "lattice",
		Fetch: tokenverify.FetchJWKS(a.url+"/.well-known/jwks.json", http.DefaultClient),
		Introspect: tokenverify.NewIntrospector(a.url+"/oauth2/introspect", internal.Client.ID, internal.Secret,
			http.DefaultClient, time.Second),
	})
	cfg := resourcesvc.Config{DatabaseURL: testinfra.MySQL(t), Verifier: verifier}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := resourcesvc.New(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	srv := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	t.Cleanup(srv.Close)
	spec, err := oapi.GetSpec()
	require.NoError(t, err)
	tr := speccheck.New(t, spec)
	client, err := oapi.NewClientWithResponses(srv.URL, oapi.WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)
	return &platform{auth: a, resource: svc, url: srv.URL, client: client, transport: tr, verifier: verifier}
}

// apiKeyFor signs up (or, for admins, creates) a user and returns an API
// key holding the resource scopes their role allows.
func (p *platform) apiKeyFor(t testing.TB, email string, admin bool) (userID, key string) {
	t.Helper()
	ctx := context.Background()
	in := app.SignUpInput{Email: email, Password: password, DisplayName: "U"}
	var u domain.User
	var err error
	if admin {
		u, err = p.auth.svc.App.CreateAdmin(ctx, in)
	} else {
		u, err = p.auth.svc.App.SignUp(ctx, in)
	}
	require.NoError(t, err)
	ns, err := p.auth.svc.App.Login(ctx, app.LoginInput{Email: email, Password: password})
	require.NoError(t, err)
	pr, err := p.auth.svc.App.Authenticate(ctx, ns.Token)
	require.NoError(t, err)
	scopes := []string{"resources:read", "resources:write", "jobs:read", "search:read", "analytics:read"}
	if admin {
		scopes = append(scopes, "resources:admin", "jobs:admin", "analytics:admin", "audit:read")
	}
	k, err := p.auth.svc.App.CreateAPIKey(ctx, pr, app.APIKeyInput{Name: "tests", Scopes: scopes})
	require.NoError(t, err)
	return u.ID, k.Secret
}

func resBearer(token string) oapi.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}
}

func ifMatch(etag string) *string { return &etag }

func clientInput(name string, scopes ...string) app.ClientInput {
	return app.ClientInput{Name: name, Type: domain.ClientConfidential, GrantTypes: []string{domain.GrantClientCredentials}, Scopes: scopes}
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
