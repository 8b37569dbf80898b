// Package problem renders errors as RFC 9457 problem details. It is the one
// place where an error's kind becomes an HTTP status, and the one place that
// decides which error text a client may see: only messages of classified
// (fault.Error) client errors; internal errors are logged and answered with a
// generic message.
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// ContentType is the media type of every error body.
const ContentType = "application/problem+json"

// TypeBase prefixes each problem type; the slug after it is the fault kind.
// docs/problems.md documents every type.
const TypeBase = "https://lattice.dev/problems/"

// Details is the RFC 9457 body.
type Details struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    map[string]string `json:"errors,omitempty"`
}

var statusOf = map[fault.Kind]int{
	fault.Internal:           http.StatusInternalServerError,
	fault.Invalid:            http.StatusBadRequest,
	fault.NotFound:           http.StatusNotFound,
	fault.Conflict:           http.StatusConflict,
	fault.PreconditionFailed: http.StatusPreconditionFailed,
	fault.PreconditionNeeded: http.StatusPreconditionRequired,
	fault.Unauthenticated:    http.StatusUnauthorized,
	fault.Forbidden:          http.StatusForbidden,
	fault.RateLimited:        http.StatusTooManyRequests,
	fault.Unavailable:        http.StatusServiceUnavailable,
	fault.TooLarge:           http.StatusRequestEntityTooLarge,
	fault.UnsupportedMedia:   http.StatusUnsupportedMediaType,
	fault.MethodNotAllowed:   http.StatusMethodNotAllowed,
	fault.Unprocessable:      http.StatusUnprocessableEntity,
	fault.BadGateway:         http.StatusBadGateway,
	fault.GatewayTimeout:     http.StatusGatewayTimeout,
}

// Status returns the HTTP status for an error.
func Status(err error) int { return statusOf[fault.KindOf(err)] }

// From builds the problem for err. Internal errors get a generic detail so
// that driver messages, SQL and secrets never reach a client.
func From(err error) Details {
	var fe *fault.Error
	kind := fault.Internal
	if errors.As(err, &fe) {
		kind = fe.Kind
	}
	status := statusOf[kind]
	d := Details{Type: TypeBase + kind.String(), Title: http.StatusText(status), Status: status}
	if kind == fault.Internal || fe == nil {
		d.Detail = "An unexpected error occurred. Quote the request id when reporting it."
		return d
	}
	d.Detail = fe.Message
	d.Errors = fe.Fields
	return d
}

// Write answers r with the problem for err, logging internal errors with
// the request's context (request and trace ids come from the logger's handler).
func Write(w http.ResponseWriter, r *http.Request, err error) {
	a := Render(r.Context(), err, r.URL.Path, w.Header().Get("X-Request-ID"))
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	if a.Authenticate != "" {
		w.Header().Set("WWW-Authenticate", a.Authenticate)
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}

// Answer is a problem ready to send: Write's, for a server without an
// http.ResponseWriter. It also takes Content-Type: ContentType and
// Cache-Control: no-store.
type Answer struct {
	Status int
	Body   []byte // the JSON document, newline-terminated
	// RetryAfter and Authenticate are the Retry-After and WWW-Authenticate
	// headers' values, when the answer has them.
	RetryAfter, Authenticate string
}

// Render is the answer for err to a request for instance (its path) with
// id requestID, logging it with ctx when it is a server error.
func Render(ctx context.Context, err error, instance, requestID string) Answer {
	d := From(err)
	d.Instance = instance
	d.RequestID = requestID
	if d.Status >= 500 {
		slog.ErrorContext(ctx, "request failed", "error", err, "status", d.Status, "path", instance)
	}
	a := Answer{Status: d.Status}
	var fe *fault.Error
	if errors.As(err, &fe) && fe.RetryAfterSeconds > 0 {
		a.RetryAfter = strconv.Itoa(fe.RetryAfterSeconds)
	}
	if d.Status == http.StatusUnauthorized {
		a.Authenticate = `Bearer realm="lattice"`
	}
	body, mErr := json.Marshal(d)
	if mErr != nil { // Details holds strings and numbers only
		panic(mErr)
	}
	a.Body = append(body, '\n')
	return a
}
