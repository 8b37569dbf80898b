package contract_test

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

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenverify"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
	resourceoapi "github.com/lattice-platform/lattice/services/resource/oapi"
)

// startGateway puts the gateway in front of a platform, verifying tokens
// against auth's JWKS over HTTP with production settings; usage records go
// to pub when it is not nil.
func startGateway(t *testing.T, p *platform, pub ports.EventPublisher) string {
	t.Helper()
	verifier := tokenverify.New(tokenverify.Config{Issuer: p.auth.url, Audience: "lattice",
		Fetch: tokenverify.FetchJWKS(p.auth.url+"/.well-known/jwks.json", http.DefaultClient)})
	svc, err := gatewaysvc.New(gatewaysvc.Config{
		Verifier: verifier, Limiter: tokenbucket.New(),
		Upstreams: map[string]string{"auth": p.auth.url, "resource": p.url}, Usage: pub,
	}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(ctx) }()
	srv := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	t.Cleanup(func() { srv.Close(); stop(); <-done })
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
	gw := startGateway(t, p, nil)
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

// TestGatewayPublishesUsageRecords sends requests through the gateway and
// reads their usage records from the USAGE stream, each valid against
// openapi/events.yaml.
func TestGatewayPublishesUsageRecords(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	broker := testinfra.NATSContainer(t)
	nc, js, err := natsjs.Connect(broker.URL, "usage-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	require.NoError(t, natsjs.EnsureStreams(ctx, js))
	p := startPlatform(t)
	gw := startGateway(t, p, speccheck.Publishing(t, natsjs.NewPublisher(js, 5*time.Second)))
	robot, err := p.auth.svc.App.RegisterClient(ctx, clientInput("usage", "resources:read"))
	require.NoError(t, err)
	key := serviceToken(t, p.auth.url, robot.Client.ID, robot.Secret)
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, gw+"/v1/resources", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
	}
	resp, err := http.Get(gw + "/v1/unknown")
	require.NoError(t, err)
	resp.Body.Close()

	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi/events.yaml")
	require.NoError(t, err)
	stream, err := js.Stream(ctx, "USAGE")
	require.NoError(t, err)
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	var records []map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for len(records) < 4 && time.Now().Before(deadline) {
		batch, err := cons.Fetch(10, jetstream.FetchMaxWait(time.Second))
		require.NoError(t, err)
		for msg := range batch.Messages() {
			var env map[string]any
			require.NoError(t, json.Unmarshal(msg.Data(), &env))
			require.NoError(t, doc.Components.Schemas["CloudEvent"].Value.VisitJSON(env))
			require.Equal(t, "gateway.requests", env["type"], "records travel many a message")
			require.NoError(t, doc.Components.Schemas["UsageBatch"].Value.VisitJSON(env["data"]))
			for _, r := range env["data"].(map[string]any)["records"].([]any) {
				require.NoError(t, doc.Components.Schemas["UsageRecord"].Value.VisitJSON(r))
				records = append(records, r.(map[string]any))
			}
		}
	}
	require.Len(t, records, 4)
	require.Equal(t, "/v1/resources", records[0]["route"])
	require.EqualValues(t, 200, records[0]["status"])
	require.NotEmpty(t, records[0]["identity"], "the verified subject is recorded")
	require.Greater(t, records[0]["bytes_out"].(float64), float64(0))
	require.EqualValues(t, 404, records[3]["status"])
}

// TestOverviewThroughTheGateway reads the composite overview of a real
// resource: the resource part is there, the services that do not run here
// are reported in errors, and the answer matches the public spec.
func TestOverviewThroughTheGateway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPlatform(t)
	gw := startGateway(t, p, nil)
	robot, err := p.auth.svc.App.RegisterClient(ctx, clientInput("overview", "resources:read", "resources:write"))
	require.NoError(t, err)
	token := serviceToken(t, p.auth.url, robot.Client.ID, robot.Secret)
	created, err := p.client.CreateResourceWithResponse(ctx, &resourceoapi.CreateResourceParams{}, newInput("Overview me", resourceoapi.Private), resBearer(token))
	require.NoError(t, err)
	require.Equal(t, 201, created.StatusCode())

	spec, err := gatewaysvc.PublicSpec()
	require.NoError(t, err)
	tr := speccheck.New(t, spec)
	req, _ := http.NewRequest(http.MethodGet, gw+"/v1/resources/"+created.JSON201.Id.String()+"/overview", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	var out struct {
		Resource map[string]any      `json:"resource"`
		Errors   []map[string]string `json:"errors"`
	}
	require.NoError(t, jsonDecode(resp.Body, &out))
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "Overview me", out.Resource["title"])
	require.Len(t, out.Errors, 2, "processing and analytics are not running here")

	anon, err := http.Get(gw + "/v1/resources/" + created.JSON201.Id.String() + "/overview")
	require.NoError(t, err)
	anon.Body.Close()
	require.Equal(t, 404, anon.StatusCode, "a private resource's overview is not found for others")
}
