package contract_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

func init() {
	// Error bodies are JSON under their own media type; the OAuth login pages
	// are HTML.
	openapi3filter.RegisterBodyDecoder("application/problem+json", openapi3filter.JSONBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	// Downloaded files come back with their own types; their schema is
	// binary, so any type decodes as raw bytes.
	for _, ct := range []string{"text/markdown", "text/csv", "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
}

// specTransport validates every request it sends and every response it
// receives against an OpenAPI document, failing the test on any mismatch:
// undocumented status codes, missing required fields, wrong types.
type specTransport struct {
	t      testing.TB
	router routers.Router
	next   http.RoundTripper
	// skipRequestValidation lets negative tests send deliberately bad input;
	// responses are still checked.
	skipRequestValidation bool
}

func newSpecTransport(t testing.TB, spec *openapi3.T) *specTransport {
	t.Helper()
	spec.Servers = nil
	r, err := gorillamux.NewRouter(spec)
	if err != nil {
		t.Fatalf("spec router: %v", err)
	}
	return &specTransport{t: t, router: r, next: http.DefaultTransport}
}

func (s *specTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		s.t.Errorf("%s %s is not in the spec: %v", req.Method, req.URL.Path, err)
		return s.next.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true},
	}
	if !s.skipRequestValidation {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			s.t.Errorf("request %s %s violates the spec: %v", req.Method, req.URL.Path, err)
		}
		// Validation may fill in defaults, rewriting the body and its
		// length; send what the client sent.
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(reqBody)), int64(len(reqBody))
	}
	resp, err := s.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: in.Options,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		s.t.Errorf("response %d to %s %s violates the spec: %v\nbody: %s", resp.StatusCode, req.Method, req.URL.Path, err, body)
	}
	return resp, nil
}
