package httpapi

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
	"github.com/lattice-platform/lattice/services/auth/oapi"
)

// CreateAPIKey issues an API key.
func (s *Server) CreateAPIKey(ctx context.Context, req oapi.CreateAPIKeyRequestObject) (oapi.CreateAPIKeyResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	in := app.APIKeyInput{Name: req.Body.Name, Scopes: req.Body.Scopes}
	if req.Body.ExpiresAt != nil {
		in.ExpiresAt = req.Body.ExpiresAt.UTC()
	}
	nk, err := s.app.CreateAPIKey(ctx, p, in)
	if err != nil {
		return nil, err
	}
	return oapi.CreateAPIKey201JSONResponse{ApiKey: toAPIKey(nk.Key), Secret: nk.Secret}, nil
}

// ListAPIKeys lists the caller's keys.
func (s *Server) ListAPIKeys(ctx context.Context, _ oapi.ListAPIKeysRequestObject) (oapi.ListAPIKeysResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := s.app.ListAPIKeys(ctx, p)
	if err != nil {
		return nil, err
	}
	out := oapi.APIKeyList{Items: make([]oapi.APIKey, len(keys))}
	for i, k := range keys {
		out.Items[i] = toAPIKey(k)
	}
	return oapi.ListAPIKeys200JSONResponse(out), nil
}

// RevokeAPIKey revokes one of the caller's keys.
func (s *Server) RevokeAPIKey(ctx context.Context, req oapi.RevokeAPIKeyRequestObject) (oapi.RevokeAPIKeyResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.app.RevokeAPIKey(ctx, p, req.Id.String()); err != nil {
		return nil, err
	}
	return oapi.RevokeAPIKey204Response{}, nil
}

func toAPIKey(k domain.APIKey) oapi.APIKey {
	return oapi.APIKey{
		Id: apimw.UUID(k.ID), Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, CreatedAt: k.CreatedAt,
		ExpiresAt: optTime(k.ExpiresAt), RevokedAt: optTime(k.RevokedAt), LastUsedAt: optTime(k.LastUsedAt),
	}
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
