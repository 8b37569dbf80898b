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
func (s *Clients) CreateAPIKey(ctx context.Context, p domain.Principal, in APIKeyInput) (NewAPIKey, error) {
	if p.UserID == "" {
		return NewAPIKey{}, errNoUser
	}
	if err := p.Require("api-keys:write"); err != nil {
		return NewAPIKey{}, err
	}
	now := s.clock.Now()
	if err := domain.CheckAPIKeyRequest(in.Name, in.Scopes, p.Scopes, in.ExpiresAt, now); err != nil {
		return NewAPIKey{}, err
	}
	secret := randomToken(domain.APIKeyPrefix)
	k := domain.APIKey{
		ID: newID(), UserID: p.UserID, Name: in.Name, Prefix: secret[:domain.APIKeyDisplayPrefixLen],
		Hash: domain.HashToken(secret), Scopes: in.Scopes, CreatedAt: now, ExpiresAt: in.ExpiresAt,
	}
	err := s.rec.audited(ctx, audit{actor: actorOf(p), action: "api_key.created", target: "api-key/" + k.ID,
		details: map[string]any{"scopes": k.Scopes, "prefix": k.Prefix}},
		func(ctx context.Context) error { return s.apiKeys.Create(ctx, k) })
	if err != nil {
		return NewAPIKey{}, err
	}
	return NewAPIKey{Key: k, Secret: secret}, nil
}

// ListAPIKeys lists the principal's keys, revoked ones included.
func (s *Clients) ListAPIKeys(ctx context.Context, p domain.Principal) ([]domain.APIKey, error) {
	if p.UserID == "" {
		return nil, errNoUser
	}
	return s.apiKeys.ListByUser(ctx, p.UserID)
}

// RevokeAPIKey revokes one of the principal's keys.
func (s *Clients) RevokeAPIKey(ctx context.Context, p domain.Principal, id string) error {
	if p.UserID == "" {
		return errNoUser
	}
	return s.rec.audited(ctx, audit{actor: actorOf(p), action: "api_key.revoked", target: "api-key/" + id},
		func(ctx context.Context) error { return s.apiKeys.Revoke(ctx, p.UserID, id, s.clock.Now()) })
}

// liveAPIKey finds a live key and its owner, recording the use at most
// once a minute so authentication is not a write per request.
func (s *Clients) liveAPIKey(ctx context.Context, secret string) (domain.APIKey, domain.User, error) {
	now := s.clock.Now()
	k, err := s.apiKeys.ByHash(ctx, domain.HashToken(secret))
	if err != nil {
		return domain.APIKey{}, domain.User{}, err
	}
	if !k.Live(now) {
		return domain.APIKey{}, domain.User{}, domain.ErrAPIKeyNotFound
	}
	u, err := s.users.ByID(ctx, k.UserID)
	if err != nil {
		return domain.APIKey{}, domain.User{}, err
	}
	if now.Sub(k.LastUsedAt) > time.Minute {
		_ = s.apiKeys.Touch(ctx, k.ID, now) // bookkeeping only; never fail a request on it
	}
	return k, u, nil
}

// errNoUser refuses user-only operations to service (client_credentials)
// tokens.
var errNoUser = fault.New(fault.Forbidden, "this credential acts for a client, not a user")
