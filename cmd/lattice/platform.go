package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenverify"
	authapp "github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
)

// platform is what the targets of one process share, each made on first
// need: one event-bus connection, one service credential, one token
// verifier (one JWKS cache).
type platform struct {
	ctx      context.Context
	cfg      Config
	log      *slog.Logger
	services []string // the targets this process runs

	auth     *authsvc.Service // when auth runs here, it provisions the service client
	shared   *eventBus
	clientID string
	secret   string
	verify   *tokenverify.Verifier
	closers  []builtService // what was opened for the targets, to close with them
}

func (p *platform) bus() (*eventBus, error) {
	if p.shared != nil {
		return p.shared, nil
	}
	b, closeBus, err := openBus(p.ctx, p.cfg, p.log)
	if err != nil {
		return nil, err
	}
	p.shared = b
	p.closers = append(p.closers, builtService{name: "bus", close: closeBus})
	return b, nil
}

// takeClosers hands over what the platform opened since the last call.
func (p *platform) takeClosers() []builtService {
	c := p.closers
	p.closers = nil
	return c
}

// credentials are the service client's: configured, or provisioned once
// when auth runs in this process.
func (p *platform) credentials() (string, string, error) {
	if p.clientID != "" {
		return p.clientID, p.secret, nil
	}
	p.clientID, p.secret = p.cfg.ServiceClientID, p.cfg.ServiceClientSecret
	if p.clientID == "" && p.auth != nil {
		secret, err := p.auth.App.ProvisionServiceClient(p.ctx)
		if err != nil {
			return "", "", fmt.Errorf("provision the service client: %w", err)
		}
		p.clientID, p.secret = authapp.ServiceClientID, secret
	}
	return p.clientID, p.secret, nil
}

func (p *platform) verifier(log *slog.Logger) (*tokenverify.Verifier, error) {
	if p.verify != nil {
		return p.verify, nil
	}
	id, secret, err := p.credentials()
	if err != nil {
		return nil, err
	}
	p.verify = serviceVerifier(p.cfg, id, secret, log)
	return p.verify, nil
}

// verifierAndBus is what every target but auth needs.
func (p *platform) verifierAndBus(log *slog.Logger) (*tokenverify.Verifier, *eventBus, error) {
	v, err := p.verifier(log)
	if err != nil {
		return nil, nil, err
	}
	b, err := p.bus()
	return v, b, err
}
