// Package speccheck is the tests' spec-validating HTTP client transport:
// every request it sends and every response it receives is checked
// against an OpenAPI document, failing the test on any mismatch
// (undocumented status codes, missing required fields, wrong types).
//
// It is also where the contract-coverage gate gets its evidence: when
// CoverageEnv names a directory, each (operation, status) pair the
// transport validates is recorded there, for tests/contractgate to compare
// with the specs.
package speccheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// CoverageEnv names the directory coverage records are written to; unset,
// nothing is recorded.
const CoverageEnv = "LATTICE_CONTRACT_COVERAGE"

func init() {
	// Error bodies are JSON under their own media type; the OAuth login pages
	// are HTML.
	openapi3filter.RegisterBodyDecoder("application/problem+json", openapi3filter.JSONBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	// Downloaded files come back with their own types; their schema is
	// binary, so any type decodes as raw bytes.
	for _, ct := range []string{"text/plain", "text/markdown", "text/csv", "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "application/octet-stream"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
}

// Transport validates traffic against one OpenAPI document.
type Transport struct {
	t      testing.TB
	router routers.Router
	next   http.RoundTripper
	// SkipRequestValidation lets negative tests send deliberately bad
	// input; responses are still checked (and recorded).
	SkipRequestValidation bool
}

// New returns a Transport for spec, sending through
// http.DefaultTransport. Violations fail t.
func New(t testing.TB, spec *openapi3.T) *Transport {
	t.Helper()
	// Routes match on paths alone: a shallow copy without the servers,
	// so that a spec shared by several tests is never written to.
	local := *spec
	local.Servers = nil
	r, err := gorillamux.NewRouter(&local)
	if err != nil {
		t.Fatalf("spec router: %v", err)
	}
	return &Transport{t: t, router: r, next: http.DefaultTransport}
}

// Client is an *http.Client on a Transport for spec that does not follow
// redirects (tests read them).
func Client(t testing.TB, spec *openapi3.T) *http.Client {
	return &http.Client{Transport: New(t, spec), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// RoundTrip validates req, sends it, validates and records the answer.
func (s *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
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
	if !s.SkipRequestValidation {
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
	} else {
		recordHTTP(s.t, route.Operation.OperationID, resp.StatusCode)
	}
	return resp, nil
}

// Record is one line of a coverage file: an operation answered with a
// status under validation, or an event of a type produced or consumed
// under validation.
type Record struct {
	Operation string `json:"operation,omitempty"`
	Status    int    `json:"status,omitempty"`
	Event     string `json:"event,omitempty"`
	Role      string `json:"role,omitempty"` // "produced" or "consumed", for events
}

var (
	recMu   sync.Mutex
	recSeen = map[Record]bool{}
	recFile *os.File
)

func recordHTTP(t testing.TB, op string, status int) {
	write(t, Record{Operation: op, Status: status})
}

// RecordEvent notes that an event of type typ was produced or consumed
// (role) after it passed validation against events.yaml.
func RecordEvent(t testing.TB, typ, role string) {
	write(t, Record{Event: typ, Role: role})
}

// write appends r to this process's coverage file once.
func write(t testing.TB, r Record) {
	dir := os.Getenv(CoverageEnv)
	if dir == "" {
		return
	}
	recMu.Lock()
	defer recMu.Unlock()
	if recSeen[r] {
		return
	}
	if recFile == nil {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("records-%d.jsonl", os.Getpid())), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Errorf("contract coverage: %v", err)
			return
		}
		recFile = f // kept open for the process's life; each line is one write
	}
	line, _ := json.Marshal(r)
	if _, err := recFile.Write(append(line, '\n')); err != nil {
		t.Errorf("contract coverage: %v", err)
		return
	}
	recSeen[r] = true
}
