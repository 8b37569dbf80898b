// Package apimw adapts a service's generated OpenAPI transport to Lattice's
// conventions: requests are validated against the embedded spec before a
// handler runs, and every error — from validation, from decoding in the
// strict server, or from a handler — is answered as problem+json by
// pkg/platform/problem. Validation messages are built from the schema's
// reason and the field's location only, never from the rejected value, so a
// bad password is never echoed into a response or a log.
package apimw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/go-chi/chi/v5"
	nethttpmw "github.com/oapi-codegen/nethttp-middleware"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/problem"
	"github.com/lattice-platform/lattice/pkg/ports"
)

func init() {
	// kin-openapi checks only the formats it is told about; "email" is a
	// rough shape check here, the domain applies the real rules.
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
}

// ErrorWriter answers a request that failed with err (a *fault.Error for
// client mistakes). problem.Write is the default; a service whose contract
// demands another error format on some paths (OAuth's RFC 6749 errors)
// passes its own.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Validator returns middleware that checks each request against spec and
// answers failures through write (nil means problem.Write). Requests for
// which skip returns true are passed through unchecked: streamed uploads,
// which the validator would buffer whole; their handlers bind and check
// parameters themselves. Authentication is left to the handlers (they know
// which credential kinds an operation accepts), so security requirements
// are not enforced here.
func Validator(spec *openapi3.T, write ErrorWriter, skip func(*http.Request) bool) func(http.Handler) http.Handler {
	if write == nil {
		write = problem.Write
	}
	spec.Servers = nil // match on path only, whatever host the request used
	return nethttpmw.OapiRequestValidatorWithOptions(spec, &nethttpmw.Options{
		Options: openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         false,
		},
		Skipper:               skip,
		DoNotValidateServers:  true,
		SilenceServersWarning: true,
		ErrorHandlerWithOpts: func(_ context.Context, err error, w http.ResponseWriter, r *http.Request, _ nethttpmw.ErrorHandlerOpts) {
			write(w, r, classify(err))
		},
	})
}

// classify turns a kin-openapi error into a client-safe fault.
func classify(err error) error {
	if tl, ok := httpserver.TooLarge(err); ok {
		return tl
	}
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return fault.New(fault.MethodNotAllowed, "method not allowed for this path")
	case errors.Is(err, routers.ErrPathNotFound):
		return fault.New(fault.NotFound, "no such endpoint")
	}
	var reqErr *openapi3filter.RequestError
	if !errors.As(err, &reqErr) {
		return fault.Wrap(fault.Invalid, "the request does not match the API specification", err)
	}
	if p := reqErr.Parameter; p != nil {
		reason := reasonOf(reqErr.Err)
		return &fault.Error{Kind: fault.Invalid, Message: "invalid " + p.In + " parameter " + p.Name + ": " + reason,
			Fields: map[string]string{p.Name: reason}, Err: err}
	}
	var se *openapi3.SchemaError
	switch {
	case strings.HasPrefix(reqErr.Reason, "header Content-Type has unexpected value"):
		return fault.Wrap(fault.UnsupportedMedia, "unsupported content type", err)
	case errors.Is(reqErr.Err, openapi3filter.ErrInvalidRequired):
		return fault.Wrap(fault.Invalid, "a request body is required", err)
	case errors.As(reqErr.Err, &se):
		field := strings.Join(se.JSONPointer(), ".")
		if field == "" {
			field = "body"
		}
		return &fault.Error{Kind: fault.Invalid, Message: "invalid " + field + ": " + se.Reason,
			Fields: map[string]string{field: se.Reason}, Err: err}
	case reqErr.Reason == "failed to decode request body":
		return fault.Wrap(fault.Invalid, "the request body is malformed", err)
	}
	return fault.Wrap(fault.Invalid, "the request does not match the API specification", err)
}

// reasonOf extracts a schema error's reason, falling back to a fixed text.
func reasonOf(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return se.Reason
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) {
		return "cannot be parsed as the declared type"
	}
	return "is invalid"
}

// DecodeError classifies an error from the strict server's body decoding.
func DecodeError(err error) error {
	if tl, ok := httpserver.TooLarge(err); ok {
		return tl
	}
	return fault.Wrap(fault.Invalid, fmt.Sprintf("the request could not be decoded: %s", decodeReason(err)), err)
}

// RequestError is the strict server's hook for requests it cannot decode.
func RequestError(w http.ResponseWriter, r *http.Request, err error) {
	problem.Write(w, r, DecodeError(err))
}

func decodeReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "malformed JSON"
	case errors.As(err, &typ):
		return "field " + typ.Field + " has the wrong type"
	}
	return "malformed body"
}

// ResponseError is the strict server's hook for errors handlers return.
func ResponseError(w http.ResponseWriter, r *http.Request, err error) { problem.Write(w, r, err) }

type requestKey struct{}

// WithRequest makes the request available to strict handlers, which see
// only a context: they need its bearer credential and some headers.
func WithRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, r)))
	})
}

// RequestFrom returns the request WithRequest stored, or nil.
func RequestFrom(ctx context.Context) *http.Request {
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	return r
}

// Bearer returns the bearer credential of the request WithRequest stored,
// or "" when there is none.
func Bearer(ctx context.Context) string {
	r := RequestFrom(ctx)
	if r == nil {
		return ""
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Router returns the router a generated strict server mounts on: unknown
// paths answer a 404 problem, handlers can reach the request (WithRequest),
// and requests are validated against spec first, except those skip picks.
func Router(spec *openapi3.T, skip func(*http.Request) bool) chi.Router {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, fault.New(fault.NotFound, "no such endpoint"))
	})
	r.Use(WithRequest, Validator(spec, nil, skip))
	return r
}

// Identify verifies the request's bearer credential (see WithRequest).
// Without one it returns ok false and no error; a bad one is an error.
func Identify(ctx context.Context, v ports.TokenVerifier) (id ports.Identity, ok bool, err error) {
	bearer := Bearer(ctx)
	if bearer == "" {
		return ports.Identity{}, false, nil
	}
	id, err = v.Verify(ctx, bearer)
	return id, err == nil, err
}

// RequireIdentity is Identify for operations that need a credential:
// none is a 401 like a bad one.
func RequireIdentity(ctx context.Context, v ports.TokenVerifier) (ports.Identity, error) {
	id, ok, err := Identify(ctx, v)
	if err == nil && !ok {
		err = fault.New(fault.Unauthenticated, "a valid bearer credential is required")
	}
	return id, err
}

// UUID converts an id the services hold as a string to the generated
// transports' UUID type; an id that is not a UUID becomes the zero UUID
// (ids are made by the services, so that does not happen).
func UUID(id string) openapi_types.UUID {
	var u openapi_types.UUID
	_ = u.UnmarshalText([]byte(id))
	return u
}
