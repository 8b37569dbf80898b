package apimw_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/apimw"
)

const spec = `
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /things:
    post:
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 10}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [secret]
              properties:
                secret: {type: string, minLength: 40, maxLength: 41, pattern: '^x+$'}
                kind: {type: string, enum: [a, b]}
                email: {type: string, format: email}
      responses:
        '204': {description: ok}
`

func handler(t *testing.T) http.Handler {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return apimw.Validator(doc, nil, nil)(ok)
}

// TestRejectedValuesAreNeverEchoed sends a recognisable secret in fields
// that break each kind of rule; no response may contain it.
func TestRejectedValuesAreNeverEchoed(t *testing.T) {
	t.Parallel()
	h := handler(t)
	const secret = "hunter2-SECRET"
	for name, body := range map[string]string{
		"too short":     `{"secret":"` + secret + `"}`,
		"wrong pattern": `{"secret":"` + strings.Repeat(secret, 3)[:40] + `"}`,
		"wrong type":    `{"secret":["` + secret + `"]}`,
		"enum":          `{"secret":"` + strings.Repeat("x", 40) + `","kind":"` + secret + `"}`,
		"format":        `{"secret":"` + strings.Repeat("x", 40) + `","email":"` + secret + `"}`,
		"malformed":     `{"secret":"` + secret,
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusBadRequest, rec.Code, name)
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"), name)
		require.NotContains(t, rec.Body.String(), secret, name)
	}
}

func TestUnknownFieldIsNamed(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(`{"secret":"`+strings.Repeat("x", 40)+`","colour":1}`))
	req.Header.Set("Content-Type", "application/json")
	handler(t).ServeHTTP(rec, req)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), `property \"colour\" is unsupported`, "field names (not values) help the caller")
}

func TestStatusesForRequestShape(t *testing.T) {
	t.Parallel()
	h := handler(t)
	for _, tc := range []struct {
		method, target, ctype, body string
		want                        int
	}{
		{"POST", "/things", "application/json", `{"secret":"` + strings.Repeat("x", 40) + `"}`, 204},
		{"POST", "/things?limit=11", "application/json", `{"secret":"` + strings.Repeat("x", 40) + `"}`, 400},
		{"POST", "/things?limit=ten", "application/json", `{"secret":"` + strings.Repeat("x", 40) + `"}`, 400},
		{"POST", "/things", "text/plain", `hi`, 415},
		{"POST", "/things", "application/json", ``, 400},
		{"GET", "/things", "", ``, 405},
		{"GET", "/nowhere", "", ``, 404},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		h.ServeHTTP(rec, req)
		require.Equal(t, tc.want, rec.Code, "%s %s %s", tc.method, tc.target, rec.Body.String())
	}
}
