package app

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// APIKeyInput asks for a new API key.
type APIKeyInput struct {
	Name      string
	Scopes    []domain.Scope
	ExpiresAt time.Time // zero: never expires
}

// NewAPIKey is a created key and its secret, returned only once.
type NewAPIKey struct {
	Key    domain.APIKey
	Secret string
}

// CreateAPIKey issues a key owned by the principal's user, limited to
// scopes the principal holds.
func (s *Service) CreateAPIKey(ctx context.Context, p domain.Principal, in APIKeyInput) (NewAPIKey, error) {
	if p.UserID == "" {
		return NewAPIKey{}, errNoUser
	}
	if err := p.Require("api-keys:write"); err != nil {
		return NewAPIKey{}, err
	}
	now := s.deps.Clock.Now()
	if err := domain.CheckAPIKeyRequest(in.Name, in.Scopes, p.Scopes, in.ExpiresAt, now); err != nil {
		return NewAPIKey{}, err
	}
	secret := randomToken(domain.APIKeyPrefix)
	k := domain.APIKey{
		ID: newID(), UserID: p.UserID, Name: in.Name, Prefix: secret[:domain.APIKeyDisplayPrefixLen],
		Hash: domain.HashToken(secret), Scopes: in.Scopes, CreatedAt: now, ExpiresAt: in.ExpiresAt,
	}
	err := s.audited(ctx, audit{actor: actorOf(p), action: "api_key.created", target: "api-key/" + k.ID,
		details: map[string]any{"scopes": k.Scopes, "prefix": k.Prefix}},
		func(ctx context.Context) error { return s.deps.APIKeys.Create(ctx, k) })
	if err != nil {
		return NewAPIKey{}, err
	}
	return NewAPIKey{Key: k, Secret: secret}, nil
}

// ListAPIKeys lists the principal's keys, revoked ones included.
func (s *Service) ListAPIKeys(ctx context.Context, p domain.Principal) ([]domain.APIKey, error) {
	if p.UserID == "" {
		return nil, errNoUser
	}
	return s.deps.APIKeys.ListByUser(ctx, p.UserID)
}

// RevokeAPIKey revokes one of the principal's keys.
func (s *Service) RevokeAPIKey(ctx context.Context, p domain.Principal, id string) error {
	if p.UserID == "" {
		return errNoUser
	}
	return s.audited(ctx, audit{actor: actorOf(p), action: "api_key.revoked", target: "api-key/" + id},
		func(ctx context.Context) error { return s.deps.APIKeys.Revoke(ctx, p.UserID, id, s.deps.Clock.Now()) })
}

// liveAPIKey finds a live key and its owner, recording the use at most
// once a minute so authentication is not a write per request.
func (s *Service) liveAPIKey(ctx context.Context, secret string) (domain.APIKey, domain.User, error) {
	now := s.deps.Clock.Now()
	k, err := s.deps.APIKeys.ByHash(ctx, domain.HashToken(secret))
	if err != nil {
		return domain.APIKey{}, domain.User{}, err
	}
	if !k.Live(now) {
		return domain.APIKey{}, domain.User{}, domain.ErrAPIKeyNotFound
	}
	u, err := s.deps.Users.ByID(ctx, k.UserID)
	if err != nil {
		return domain.APIKey{}, domain.User{}, err
	}
	if now.Sub(k.LastUsedAt) > time.Minute {
		_ = s.deps.APIKeys.Touch(ctx, k.ID, now) // bookkeeping only; never fail a request on it
	}
	return k, u, nil
}

// errNoUser refuses user-only operations to service (client_credentials)
// tokens.
var errNoUser = fault.New(fault.Forbidden, "this credential acts for a client, not a user")
