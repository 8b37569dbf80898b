package app

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// ScopeClientsAdmin gates OAuth client management.
const ScopeClientsAdmin = "clients:admin"

// ClientInput registers an OAuth client.
type ClientInput struct {
	Name         string
	Type         domain.ClientType
	RedirectURIs []string
	GrantTypes   []string
	Scopes       []domain.Scope
}

// NewClient is a registered client and, for confidential clients, its
// secret, which is returned only here.
type NewClient struct {
	Client domain.Client
	Secret string
}

// CreateClient registers a client; it needs clients:admin.
func (s *Clients) CreateClient(ctx context.Context, p domain.Principal, in ClientInput) (NewClient, error) {
	if err := p.Require(ScopeClientsAdmin); err != nil {
		return NewClient{}, err
	}
	return s.registerClient(ctx, in, actorOf(p))
}

// RegisterClient registers a client without an authorization check; it is
// for the operator's CLI.
func (s *Clients) RegisterClient(ctx context.Context, in ClientInput) (NewClient, error) {
	return s.registerClient(ctx, in, actorOperator)
}

func (s *Clients) registerClient(ctx context.Context, in ClientInput, actor string) (NewClient, error) {
	c := domain.Client{
		ID: newID(), Name: strings.TrimSpace(in.Name), Type: in.Type, RedirectURIs: in.RedirectURIs,
		GrantTypes: in.GrantTypes, Scopes: in.Scopes, CreatedAt: s.clock.Now(),
	}
	if c.Scopes == nil {
		c.Scopes = []domain.Scope{}
	}
	if err := domain.ValidateClient(c); err != nil {
		return NewClient{}, err
	}
	var secret string
	if c.Type == domain.ClientConfidential {
		secret = randomToken("lcs_")
		c.SecretHash = domain.HashToken(secret)
	}
	err := s.rec.audited(ctx, audit{actor: actor, action: "client.created", target: "client/" + c.ID,
		details: map[string]any{"type": string(c.Type), "scopes": c.Scopes, "grant_types": c.GrantTypes}},
		func(ctx context.Context) error { return s.clients.Create(ctx, c) })
	if err != nil {
		return NewClient{}, err
	}
	return NewClient{Client: c, Secret: secret}, nil
}

// ListClients returns every client; it needs clients:admin.
func (s *Clients) ListClients(ctx context.Context, p domain.Principal) ([]domain.Client, error) {
	if err := p.Require(ScopeClientsAdmin); err != nil {
		return nil, err
	}
	return s.clients.List(ctx)
}

// DeleteClient removes a client and its grants; it needs clients:admin.
func (s *Clients) DeleteClient(ctx context.Context, p domain.Principal, id string) error {
	if err := p.Require(ScopeClientsAdmin); err != nil {
		return err
	}
	return s.rec.audited(ctx, audit{actor: actorOf(p), action: "client.deleted", target: "client/" + id},
		func(ctx context.Context) error { return s.clients.Delete(ctx, id) })
}

// ServiceClientID names the confidential client that Lattice's own
// services use when they all run in one process: for introspection, and
// (with resources:admin) for processing to read what it indexes.
const ServiceClientID = "lattice-services"

// EnsureServiceClient makes the service client id exist with secret:
// when services run apart, one secret (a Kubernetes secret, a compose
// file) is given to every service, and auth registers it at start. An
// existing client with that id and secret is left alone, so restarts and
// replicas change nothing; one with another secret or settings is
// replaced, audited as a secret rotation.
func (s *Clients) EnsureServiceClient(ctx context.Context, id, secret string) error {
	if id == "" || secret == "" {
		return fault.New(fault.Invalid, "the service client needs an id and a secret")
	}
	if c, err := s.clients.ByID(ctx, id); err == nil && c.CheckSecret(secret) && slices.Equal(c.Scopes, serviceScopes) {
		return nil
	} else if err != nil && !errors.Is(err, domain.ErrClientNotFound) {
		return err
	}
	return s.replaceServiceClient(ctx, id, secret)
}

// serviceScopes are the service client's: processing reads every
// resource it indexes.
var serviceScopes = []domain.Scope{"resources:admin"}

func (s *Clients) replaceServiceClient(ctx context.Context, id, secret string) error {
	c := domain.Client{ID: id, Name: "Lattice services (introspection)", Type: domain.ClientConfidential,
		SecretHash: domain.HashToken(secret), GrantTypes: []string{domain.GrantClientCredentials}, Scopes: serviceScopes,
		CreatedAt: s.clock.Now()}
	return s.rec.audited(ctx, audit{actor: actorSystem, action: "client.secret_rotated", target: "client/" + c.ID}, func(ctx context.Context) error {
		if err := s.clients.Delete(ctx, id); err != nil && !errors.Is(err, domain.ErrClientNotFound) {
			return err
		}
		return s.clients.Create(ctx, c)
	})
}

// ProvisionServiceClient (re)creates the internal service client with a
// fresh secret and returns the secret. `lattice serve --target=all` calls
// it at start so a laptop install needs no set-up; deployments that run
// services apart register a client with `lattice client create` instead.
func (s *Clients) ProvisionServiceClient(ctx context.Context) (string, error) {
	secret := randomToken("lcs_")
	if err := s.replaceServiceClient(ctx, ServiceClientID, secret); err != nil {
		return "", err
	}
	return secret, nil
}
