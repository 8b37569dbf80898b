package httpapi

import (
	"context"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
	"github.com/lattice-platform/lattice/services/auth/oapi"
)

// CreateClient registers an OAuth client.
func (s *Server) CreateClient(ctx context.Context, req oapi.CreateClientRequestObject) (oapi.CreateClientResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	in := app.ClientInput{Name: req.Body.Name, Type: domain.ClientType(req.Body.Type)}
	if req.Body.RedirectUris != nil {
		in.RedirectURIs = *req.Body.RedirectUris
	}
	for _, g := range req.Body.GrantTypes {
		in.GrantTypes = append(in.GrantTypes, string(g))
	}
	if req.Body.Scopes != nil {
		in.Scopes = *req.Body.Scopes
	}
	nc, err := s.app.CreateClient(ctx, p, in)
	if err != nil {
		return nil, err
	}
	out := oapi.CreateClient201JSONResponse{Client: toClient(nc.Client)}
	if nc.Secret != "" {
		out.ClientSecret = &nc.Secret
	}
	return out, nil
}

// ListClients lists every client.
func (s *Server) ListClients(ctx context.Context, _ oapi.ListClientsRequestObject) (oapi.ListClientsResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.app.ListClients(ctx, p)
	if err != nil {
		return nil, err
	}
	out := oapi.ClientList{Items: make([]oapi.OAuthClient, len(list))}
	for i, c := range list {
		out.Items[i] = toClient(c)
	}
	return oapi.ListClients200JSONResponse(out), nil
}

// DeleteClient removes a client.
func (s *Server) DeleteClient(ctx context.Context, req oapi.DeleteClientRequestObject) (oapi.DeleteClientResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.app.DeleteClient(ctx, p, req.Id); err != nil {
		return nil, err
	}
	return oapi.DeleteClient204Response{}, nil
}

// RotateSigningKey makes a new signing key active.
func (s *Server) RotateSigningKey(ctx context.Context, _ oapi.RotateSigningKeyRequestObject) (oapi.RotateSigningKeyResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	k, err := s.app.RotateKeysAsAdmin(ctx, p)
	if err != nil {
		return nil, err
	}
	return oapi.RotateSigningKey201JSONResponse{Kid: k.ID, CreatedAt: k.CreatedAt}, nil
}

func toClient(c domain.Client) oapi.OAuthClient {
	return oapi.OAuthClient{
		ClientId: c.ID, Name: c.Name, Type: oapi.OAuthClientType(c.Type), RedirectUris: nonNil(c.RedirectURIs),
		GrantTypes: nonNil(c.GrantTypes), Scopes: nonNil(c.Scopes), CreatedAt: c.CreatedAt,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
