package problem_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/problem"
)

func TestStatusPerKind(t *testing.T) {
	t.Parallel()
	for kind, want := range map[fault.Kind]int{
		fault.Invalid: 400, fault.Unauthenticated: 401, fault.Forbidden: 403, fault.NotFound: 404,
		fault.MethodNotAllowed: 405, fault.Conflict: 409, fault.PreconditionFailed: 412, fault.TooLarge: 413,
		fault.UnsupportedMedia: 415, fault.PreconditionNeeded: 428, fault.RateLimited: 429,
		fault.Internal: 500, fault.Unavailable: 503,
	} {
		err := fmt.Errorf("wrapped: %w", fault.New(kind, "x"))
		require.Equal(t, want, problem.Status(err), kind.String())
	}
	require.Equal(t, 500, problem.Status(errors.New("plain")))
}

func TestInternalErrorsAreNotShown(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v1/things", nil)
	problem.Write(rec, req, fault.Wrap(fault.Internal, "db exploded", errors.New("password=hunter2 connection refused")))
	require.Equal(t, 500, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	require.NotContains(t, rec.Body.String(), "hunter2")
	require.NotContains(t, rec.Body.String(), "db exploded")

	rec = httptest.NewRecorder()
	problem.Write(rec, req, errors.New("pq: relation users does not exist"))
	require.NotContains(t, rec.Body.String(), "relation")
}

func TestClientErrorsCarryDetailFieldsAndHeaders(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Request-ID", "req-1")
	req := httptest.NewRequest(http.MethodPost, "/v1/users", nil)
	problem.Write(rec, req, fault.InvalidField("email", "is required"))
	var d problem.Details
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d))
	require.Equal(t, problem.Details{Type: "https://lattice.dev/problems/invalid", Title: "Bad Request", Status: 400,
		Detail: "invalid email: is required", Instance: "/v1/users", RequestID: "req-1", Errors: map[string]string{"email": "is required"}}, d)

	rec = httptest.NewRecorder()
	problem.Write(rec, req, &fault.Error{Kind: fault.RateLimited, Message: "slow down", RetryAfterSeconds: 7})
	require.Equal(t, "7", rec.Header().Get("Retry-After"))

	rec = httptest.NewRecorder()
	problem.Write(rec, req, fault.New(fault.Unauthenticated, "who are you"))
	require.Equal(t, `Bearer realm="lattice"`, rec.Header().Get("WWW-Authenticate"))
}
