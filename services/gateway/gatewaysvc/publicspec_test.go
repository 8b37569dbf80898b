package gatewaysvc_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

// publicSpec starts a gateway with no upstreams and returns it with the
// document it serves at /openapi.json.
func publicSpec(t *testing.T) (*httptest.Server, *openapi3.T) {
	t.Helper()
	svc, err := gatewaysvc.New(gatewaysvc.Config{Limiter: tokenbucket.New(), Upstreams: map[string]string{}}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	srv := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/openapi.json")
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	return srv, doc
}

func TestPublicSpecAndDocs(t *testing.T) {
	t.Parallel()
	srv, doc := publicSpec(t)
	require.NoError(t, doc.Validate(context.Background()), "the bundle is a valid OpenAPI document")
	for _, path := range []string{"/v1/users", "/oauth2/token", "/.well-known/jwks.json", "/v1/resources", "/v1/resources/{id}/files/{file_id}/content"} {
		require.NotNil(t, doc.Paths.Value(path), path)
	}

	page, err := http.Get(srv.URL + "/docs")
	require.NoError(t, err)
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	require.Contains(t, string(html), `<script src="/docs/swagger-ui-bundle.js"></script>`)
	require.NotContains(t, string(html), "cdn", "everything is served locally")
	js, err := http.Get(srv.URL + "/docs/swagger-ui-bundle.js")
	require.NoError(t, err)
	body, _ := io.ReadAll(js.Body)
	js.Body.Close()
	require.Greater(t, len(body), 1<<20)
	require.True(t, strings.HasPrefix(js.Header.Get("Content-Type"), "text/javascript"))
}

// operations lists a document's operations as "METHOD path operationId".
func operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out = append(out, method+" "+path+" "+op.OperationID)
		}
	}
	slices.Sort(out)
	return out
}

// The public contract is complete: /openapi.json holds exactly the union of
// the operations of every HTTP spec in openapi/, read here from the files
// themselves rather than through the list the gateway bundles from.
func TestPublicSpecHoldsEveryServicesOperations(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir("../../../openapi")
	require.NoError(t, err)
	var want []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join("../../../openapi", e.Name()))
		require.NoError(t, err, e.Name())
		ops := operations(doc)
		if e.Name() == "events.yaml" {
			require.Empty(t, ops, "the events document describes messages, not HTTP operations")
			continue
		}
		require.NotEmpty(t, ops, e.Name())
		want = append(want, ops...)
	}
	slices.Sort(want)

	_, served := publicSpec(t)
	require.Equal(t, want, operations(served))
}
