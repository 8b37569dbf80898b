package gatewaysvc

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
)

// TestOwnPathsAreTheMuxsRoutes: the prefilter on the routes' fixed text
// answers as chi's own match would, for paths inside and outside it.
func TestOwnPathsAreTheMuxsRoutes(t *testing.T) {
	mux := chi.NewRouter()
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux.Get("/v1/overview/{id}", ok)
	mux.Get("/v1/resources/{id}/overview", ok)
	mux.Post("/v1/admin/migrations/{name}/advance", ok)
	mux.Route("/v1/admin/shadow", func(r chi.Router) { r.Get("/*", ok) })
	own, err := ownPaths(mux)
	require.NoError(t, err)
	for _, c := range []struct {
		method, path string
		want         bool
	}{
		{"GET", "/v1/overview/42", true},
		{"POST", "/v1/overview/42", false},
		{"GET", "/v1/overview", false},
		{"POST", "/v1/admin/migrations/m1/advance", true},
		{"POST", "/v1/admin/migrations/m1/other", false},
		{"GET", "/v1/admin/shadow/stats/x", true},
		{"GET", "/v1/resources/bench", false},
		{"GET", "/v1/resources/42/overview", true},
		{"GET", "/v1/resources/42/overview/", false},
		{"GET", "/v1/resources/42/other", false},
		{"GET", "/V1/overview/42", false},
		{"GET", "/healthz", true},
		{"GET", "/readyz", true},
	} {
		require.Equal(t, c.want, own(c.method, c.path), "%s %s", c.method, c.path)
	}
}
