package apimw_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/access"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// securedSpec requires a credential by default; /open also takes none,
// /admin needs a scope and /public has no security at all.
const securedSpec = `
openapi: 3.0.3
info: {title: t, version: "1"}
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer}
security:
  - bearerAuth: []
paths:
  /closed:
    get: {responses: {'200': {description: ok}}}
  /open:
    get:
      security: [{bearerAuth: []}, {}]
      responses: {'200': {description: ok}}
  /admin:
    get:
      security: [{bearerAuth: [jobs:admin]}]
      responses: {'200': {description: ok}}
  /public:
    get:
      security: []
      responses: {'200': {description: ok}}
`

// tokens is a verifier that knows two tokens and cannot reach its
// authority for a third.
type tokens struct{}

func (tokens) Verify(_ context.Context, bearer string) (ports.Identity, error) {
	switch bearer {
	case "reader":
		return ports.Identity{Subject: "u1", Scopes: []string{"jobs:read"}}, nil
	case "admin":
		return ports.Identity{Subject: "u2", Scopes: []string{"jobs:admin"}}, nil
	case "down":
		return ports.Identity{}, fault.New(fault.Unavailable, "the authority did not answer")
	}
	return ports.Identity{}, fault.New(fault.Unauthenticated, "invalid token")
}

func TestIdentityFollowsEachOperationsSecurity(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(securedSpec))
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	h, err := apimw.Mount(doc, tokens{}, nil, func(r chi.Router) {
		echo := func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(access.CallerFrom(r.Context()))
		}
		for _, p := range []string{"/closed", "/open", "/admin", "/public"} {
			r.Get(p, echo)
		}
	})
	require.NoError(t, err)
	call := func(path, bearer string) (int, access.Caller) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var c access.Caller
		if rec.Code == http.StatusOK {
			require.NoError(t, json.NewDecoder(rec.Body).Decode(&c))
		} else {
			require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		}
		return rec.Code, c
	}
	for _, tc := range []struct {
		path, bearer string
		status       int
		subject      string
	}{
		{"/closed", "", http.StatusUnauthorized, ""},
		{"/closed", "forged", http.StatusUnauthorized, ""},
		{"/closed", "down", http.StatusServiceUnavailable, ""},
		{"/closed", "reader", http.StatusOK, "u1"},
		{"/open", "", http.StatusOK, ""},
		{"/open", "forged", http.StatusUnauthorized, ""}, // a bad credential is never taken for none
		{"/open", "reader", http.StatusOK, "u1"},
		{"/admin", "reader", http.StatusForbidden, ""},
		{"/admin", "admin", http.StatusOK, "u2"},
		{"/public", "forged", http.StatusOK, ""}, // a public operation does not look at credentials
		{"/nowhere", "", http.StatusNotFound, ""},
	} {
		status, c := call(tc.path, tc.bearer)
		require.Equal(t, tc.status, status, "%s with %q", tc.path, tc.bearer)
		require.Equal(t, tc.subject, c.Subject, "%s with %q", tc.path, tc.bearer)
		if tc.subject != "" {
			require.Equal(t, tc.bearer, c.Credential, "the credential travels for calls on the caller's behalf")
		}
	}
}
