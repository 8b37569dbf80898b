// Package publicspec bundles every service's OpenAPI document into the
// platform's one public contract, served by the gateway at /openapi.json,
// with browsable docs at /docs (Swagger UI, embedded from the npm package
// swagger-ui-dist by `make docs-assets`; nothing is loaded from elsewhere:
// Redoc, used before, fetches its logo from a CDN in every version since
// 2.1, docs/gateway.md).
package publicspec

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
)

var (
	//go:embed assets/swagger-ui-bundle.js
	swaggerJS []byte
	//go:embed assets/swagger-ui.css
	swaggerCSS []byte
)

// Bundle merges specs (by service name) into one document. Paths must not
// collide; components with the same name must be identical, so a shared
// name always means one thing.
func Bundle(title, version string, specs map[string]*openapi3.T) (*openapi3.T, error) {
	out := &openapi3.T{
		OpenAPI: "3.0.3",
		Info:    &openapi3.Info{Title: title, Version: version, Description: "Every Lattice service's API, as served through the gateway."},
		Paths:   openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{}, Parameters: openapi3.ParametersMap{}, Responses: openapi3.ResponseBodies{},
			SecuritySchemes: openapi3.SecuritySchemes{}, RequestBodies: openapi3.RequestBodies{}, Headers: openapi3.Headers{},
		},
		Servers: openapi3.Servers{{URL: "/"}},
	}
	names := make([]string, 0, len(specs))
	for name := range specs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, svc := range names {
		spec := specs[svc]
		for path, item := range spec.Paths.Map() {
			if out.Paths.Value(path) != nil {
				return nil, fmt.Errorf("publicspec: path %s is served by two services", path)
			}
			out.Paths.Set(path, item)
		}
		for _, tag := range spec.Tags { // services may share a tag (migration): listed once
			if out.Tags.Get(tag.Name) == nil {
				out.Tags = append(out.Tags, tag)
			}
		}
		c := spec.Components
		if c == nil {
			continue
		}
		if err := merge(svc, "schema", out.Components.Schemas, c.Schemas); err != nil {
			return nil, err
		}
		if err := merge(svc, "parameter", out.Components.Parameters, c.Parameters); err != nil {
			return nil, err
		}
		if err := merge(svc, "response", out.Components.Responses, c.Responses); err != nil {
			return nil, err
		}
		if err := merge(svc, "security scheme", out.Components.SecuritySchemes, c.SecuritySchemes); err != nil {
			return nil, err
		}
	}
	if len(out.Security) == 0 {
		out.Security = openapi3.SecurityRequirements{{"bearerAuth": {}}, {}}
	}
	return out, nil
}

func merge[V any](svc, kind string, dst, src map[string]V) error {
	for name, v := range src {
		if have, ok := dst[name]; ok {
			a, _ := json.Marshal(have)
			b, _ := json.Marshal(v)
			if !bytes.Equal(a, b) {
				return fmt.Errorf("publicspec: %s %q differs between services (%s)", kind, name, svc)
			}
			continue
		}
		dst[name] = v
	}
	return nil
}

// Handler serves the bundled spec and the docs page.
func Handler(spec *openapi3.T) (http.Handler, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(raw)
	})
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self'")
		_, _ = w.Write([]byte(docsPage))
	})
	mux.HandleFunc("GET /docs/init.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write([]byte(docsInit))
	})
	asset := func(contentType string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Cache-Control", "public, max-age=86400")
			_, _ = w.Write(body)
		}
	}
	mux.HandleFunc("GET /docs/swagger-ui-bundle.js", asset("text/javascript; charset=utf-8", swaggerJS))
	mux.HandleFunc("GET /docs/swagger-ui.css", asset("text/css; charset=utf-8", swaggerCSS))
	return mux, nil
}

// Serves reports whether path is one the Handler answers; the gateway
// sends every other path on to the route table.
func Serves(path string) bool {
	switch path {
	case "/openapi.json", "/docs", "/docs/init.js", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css":
		return true
	}
	return false
}

// docsPage loads Swagger UI; the empty icon keeps the browser from asking
// for a /favicon.ico that does not exist.
const docsPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Lattice API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`

// docsInit configures Swagger UI as a reference: no "try it out" (the page
// would send callers' credentials from the docs), no validator badge (it
// calls validator.swagger.io), operation ids shown, request and response
// schemas shown as models rather than examples.
const docsInit = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  displayOperationId: true,
  supportedSubmitMethods: [],
  validatorUrl: null,
  defaultModelRendering: "model",
  defaultModelsExpandDepth: -1,
});
`
