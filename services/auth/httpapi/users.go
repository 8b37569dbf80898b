package httpapi

import (
	"context"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/oapi"
)

// SignUp creates an account.
func (s *Server) SignUp(ctx context.Context, req oapi.SignUpRequestObject) (oapi.SignUpResponseObject, error) {
	u, err := s.app.SignUp(ctx, app.SignUpInput{
		Email: string(req.Body.Email), Password: req.Body.Password, DisplayName: req.Body.DisplayName,
	})
	if err != nil {
		return nil, err
	}
	return oapi.SignUp201JSONResponse(toUser(u)), nil
}

// GetMe returns the caller's account.
func (s *Server) GetMe(ctx context.Context, _ oapi.GetMeRequestObject) (oapi.GetMeResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.app.Me(ctx, p)
	if err != nil {
		return nil, err
	}
	return oapi.GetMe200JSONResponse(toUser(u)), nil
}

// ListUsers pages through all accounts (admins only).
func (s *Server) ListUsers(ctx context.Context, req oapi.ListUsersRequestObject) (oapi.ListUsersResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	limit, cursor := 50, ""
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	if req.Params.Cursor != nil {
		cursor = *req.Params.Cursor
	}
	page, err := s.app.ListUsers(ctx, p, cursor, limit)
	if err != nil {
		return nil, err
	}
	out := oapi.UserPage{Items: make([]oapi.User, len(page.Users))}
	for i, u := range page.Users {
		out.Items[i] = toUser(u)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return oapi.ListUsers200JSONResponse(out), nil
}
