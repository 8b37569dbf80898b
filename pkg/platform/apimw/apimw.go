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
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/go-chi/chi/v5"
	nethttpmw "github.com/oapi-codegen/nethttp-middleware"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/lattice-platform/lattice/pkg/access"
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
// parameters themselves. Security requirements are Identity's, not the
// validator's.
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

// Mount returns the handler of a service's generated strict server:
// unknown paths answer a 404 problem, requests are validated against spec
// (except those skip picks: streamed uploads), the caller is established
// from each operation's security requirements (Identity), and register
// mounts the generated routes, with RequestError and ResponseError as the
// strict server's error hooks, on the router it is given.
func Mount(spec *openapi3.T, verifier ports.TokenVerifier, skip func(*http.Request) bool, register func(chi.Router)) (http.Handler, error) {
	identity, err := Identity(spec, verifier)
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, fault.New(fault.NotFound, "no such endpoint"))
	})
	r.Use(Validator(spec, nil, skip), identity)
	register(r)
	return r, nil
}

// Identity returns middleware that establishes who a request acts for,
// once, before any handler runs, as the operation's security requirements
// in spec say: a bearer credential, when presented, is verified (401 for a
// bad one, 503 when the authority cannot be reached) and becomes the
// access.Caller that handlers read with access.CallerFrom; without one, the
// request goes on as anonymous where the operation allows it (an empty
// requirement, `{}`) and is refused with 401 where it does not. Scopes a
// requirement lists are required too (403). Handlers never see the raw
// request or verify anything themselves.
func Identity(spec *openapi3.T, verifier ports.TokenVerifier) (func(http.Handler) http.Handler, error) {
	authenticate := func(ctx context.Context, bearer string, reqs openapi3.SecurityRequirements) (context.Context, error) {
		id, err := verifier.Verify(ctx, bearer)
		if err != nil {
			return ctx, err
		}
		if missing := missingScope(reqs, id.Scopes); missing != "" {
			return ctx, fault.New(fault.Forbidden, "missing scope: "+missing)
		}
		return access.WithCaller(ctx, access.Caller{Subject: id.Subject, Scopes: id.Scopes, Credential: bearer}), nil
	}
	return Authenticated(spec, authenticate, nil, nil)
}

// Authenticate turns a request's bearer credential into what its handlers
// need, returning the context that carries it, or the error to answer
// with. reqs are the operation's security requirements.
type Authenticate func(ctx context.Context, bearer string, reqs openapi3.SecurityRequirements) (context.Context, error)

// Authenticated is Identity for a service that authenticates credentials
// itself (auth knows sessions and API keys, not only tokens): operations
// the spec marks public (`security: []`) are passed through untouched;
// otherwise a presented bearer credential goes through authenticate, and a
// missing one is refused with missing (default: 401 "a valid bearer
// credential is required") unless the operation allows anonymous callers.
// write answers refusals (nil: problem.Write).
func Authenticated(spec *openapi3.T, authenticate Authenticate, missing error, write ErrorWriter) (func(http.Handler) http.Handler, error) {
	policy, err := newSecurityPolicy(spec)
	if err != nil {
		return nil, err
	}
	if missing == nil {
		missing = fault.New(fault.Unauthenticated, "a valid bearer credential is required")
	}
	if write == nil {
		write = problem.Write
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reqs := policy.of(r)
			if len(reqs) == 0 { // a public operation: credentials are not its business
				next.ServeHTTP(w, r)
				return
			}
			bearer := BearerOf(r)
			if bearer == "" {
				if !anonymousAllowed(reqs) {
					write(w, r, missing)
					return
				}
				next.ServeHTTP(w, r)
				return
			}
			ctx, err := authenticate(r.Context(), bearer, reqs)
			if err != nil {
				write(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}, nil
}

// securityPolicy finds an operation's security requirements: the spec's
// default, unless some operation sets its own, in which case the request
// is routed to its operation.
type securityPolicy struct {
	def    openapi3.SecurityRequirements
	router routers.Router // nil when no operation overrides the default
}

func newSecurityPolicy(spec *openapi3.T) (securityPolicy, error) {
	p := securityPolicy{def: spec.Security}
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Security != nil {
				spec.Servers = nil // route on the path only, whatever host the request used
				router, err := gorillamux.NewRouter(spec)
				if err != nil {
					return p, fmt.Errorf("route the API specification: %w", err)
				}
				p.router = router
				return p, nil
			}
		}
	}
	return p, nil
}

func (p securityPolicy) of(r *http.Request) openapi3.SecurityRequirements {
	if p.router == nil {
		return p.def
	}
	route, _, err := p.router.FindRoute(r)
	if err != nil || route.Operation.Security == nil {
		return p.def // an unknown route is answered by the validator or the router
	}
	return *route.Operation.Security
}

// anonymousAllowed reports whether reqs accept a request without
// credentials: an empty requirement among them.
func anonymousAllowed(reqs openapi3.SecurityRequirements) bool {
	for _, req := range reqs {
		if len(req) == 0 {
			return true
		}
	}
	return false
}

// missingScope returns a scope the bearer requirements demand and scopes
// lack ("" when every requirement that names scopes is met by one).
func missingScope(reqs openapi3.SecurityRequirements, scopes []string) string {
	missing := ""
	for _, req := range reqs {
		needed := req["bearerAuth"]
		lacking := ""
		for _, s := range needed {
			if !slices.Contains(scopes, s) {
				lacking = s
				break
			}
		}
		if lacking == "" && len(req) > 0 {
			return "" // one satisfied alternative is enough
		}
		if missing == "" {
			missing = lacking
		}
	}
	return missing
}

// BearerOf returns the request's bearer credential, or "".
func BearerOf(r *http.Request) string { return Bearer(r.Header.Get("Authorization")) }

// Bearer returns the bearer credential an Authorization header's value
// carries, or "".
func Bearer(authorization string) string {
	if h := authorization; len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// UUID converts an id the services hold as a string to the generated
// transports' UUID type; an id that is not a UUID becomes the zero UUID
// (ids are made by the services, so that does not happen).
func UUID(id string) openapi_types.UUID {
	var u openapi_types.UUID
	_ = u.UnmarshalText([]byte(id))
	return u
}
