// Package httpapi is the auth service's HTTP edge: it implements the
// generated strict server by turning requests into use-case calls and
// results into typed responses. Validation has already happened in the
// spec-driven middleware; errors go to pkg/platform/problem.
package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"

	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/pkg/platform/clientaddr"
	"github.com/lattice-platform/lattice/pkg/platform/problem"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
	"github.com/lattice-platform/lattice/services/auth/oapi"
)

// Server implements the generated strict interface.
type Server struct {
	app    *app.Service
	issuer string
}

var _ oapi.StrictServerInterface = (*Server)(nil)

// Handler returns the auth API: validation, then the generated router.
// issuer is the public base URL that discovery documents advertise.
func Handler(svc *app.Service, issuer string) (http.Handler, error) {
	spec, err := oapi.GetSpec()
	if err != nil {
		return nil, err
	}
	// Who the caller is, established once from each operation's security
	// requirements: sessions, API keys and tokens alike (app.Authenticate).
	identity, err := apimw.Authenticated(spec, func(ctx context.Context, bearer string, _ openapi3.SecurityRequirements) (context.Context, error) {
		p, err := svc.Authenticate(ctx, bearer)
		if err != nil {
			return ctx, err
		}
		return context.WithValue(ctx, principalKey{}, p), nil
	}, domain.ErrUnauthenticated, writeError)
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { problem.Write(w, r, errNoEndpoint) })
	r.Use(withCaller, apimw.Validator(spec, writeError, nil), identity)
	decodeFailed := func(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, apimw.DecodeError(err)) }
	strict := oapi.NewStrictHandlerWithOptions(&Server{app: svc, issuer: strings.TrimSuffix(issuer, "/")}, nil, oapi.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  decodeFailed,
		ResponseErrorHandlerFunc: writeError,
	})
	oapi.HandlerWithOptions(strict, oapi.ChiServerOptions{BaseRouter: r, ErrorHandlerFunc: decodeFailed})
	return r, nil
}

// caller is what the edge knows about where a request came from and what
// client credentials it carries (the bearer credential is the identity
// middleware's: principal); strict handlers see only a context, so it
// travels there.
type caller struct {
	ip        string
	userAgent string
	// HTTP Basic credentials, for OAuth client authentication
	// (client_secret_basic); RFC 6749 §2.3.1 form-encodes both parts.
	basicID, basicSecret string
	hasBasic             bool
	cookies              []*http.Cookie
	https                bool
}

type callerKey struct{}

func withCaller(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := clientaddr.From(r)
		c := caller{userAgent: r.UserAgent(), https: client.HTTPS, ip: client.Addr}
		if id, secret, ok := r.BasicAuth(); ok {
			c.hasBasic = true
			c.basicID, _ = url.QueryUnescape(id)
			c.basicSecret, _ = url.QueryUnescape(secret)
		}
		c.cookies = r.Cookies()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

type principalKey struct{}

// principal is who the request's bearer credential speaks for, as the
// edge established it before the handler ran; operations without a
// bearer requirement have none.
func (s *Server) principal(ctx context.Context) (domain.Principal, error) {
	p, ok := ctx.Value(principalKey{}).(domain.Principal)
	if !ok {
		return domain.Principal{}, domain.ErrUnauthenticated
	}
	return p, nil
}

func toUser(u domain.User) oapi.User {
	return oapi.User{
		Id: apimw.UUID(u.ID), Email: u.Email, DisplayName: u.DisplayName,
		Role: oapi.UserRole(u.Role), CreatedAt: u.CreatedAt,
	}
}
