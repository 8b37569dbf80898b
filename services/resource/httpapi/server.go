// Package httpapi is the resource service's HTTP edge: it implements the
// generated strict server, turning requests into use-case calls. Who the
// caller is comes from the shared token verifier; what they may do is
// decided in the use cases.
package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/lattice-platform/lattice/pkg/access"
	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
	"github.com/lattice-platform/lattice/services/resource/oapi"
)

// Server implements the generated strict interface.
type Server struct {
	app *app.Service
}

var _ oapi.StrictServerInterface = (*Server)(nil)

// Handler returns the resource API: validation, then the generated router.
func Handler(svc *app.Service, verifier ports.TokenVerifier) (http.Handler, error) {
	spec, err := oapi.GetSpec()
	if err != nil {
		return nil, err
	}
	return apimw.Mount(spec, verifier, IsUpload, func(r chi.Router) {
		r.Use(keepConditions)
		strict := oapi.NewStrictHandlerWithOptions(&Server{app: svc}, nil, oapi.StrictHTTPServerOptions{
			RequestErrorHandlerFunc:  apimw.RequestError,
			ResponseErrorHandlerFunc: apimw.ResponseError,
		})
		oapi.HandlerWithOptions(strict, oapi.ChiServerOptions{BaseRouter: r, ErrorHandlerFunc: apimw.RequestError})
	})
}

// IsUpload reports whether r is a file upload: a streamed body that is not
// buffered for validation and may be larger than other requests.
func IsUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/resources/") && strings.HasSuffix(r.URL.Path, "/files")
}

// caller is who the request acts for, as the edge established it
// (apimw.Identity): anonymous without a credential.
func (s *Server) caller(ctx context.Context) (domain.Caller, error) {
	c := access.CallerFrom(ctx)
	return domain.Caller{Subject: c.Subject, Scopes: c.Scopes}, nil
}

func toResource(r domain.Resource) oapi.Resource {
	meta := r.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	return oapi.Resource{
		Id: apimw.UUID(r.ID), OwnerId: r.OwnerID, Title: r.Title, Body: r.Body, ContentType: r.ContentType,
		Metadata: meta, Tags: tags, Visibility: oapi.Visibility(r.Visibility), Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}
