package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lattice-platform/lattice/services/analytics/analyticssvc"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
	"github.com/lattice-platform/lattice/services/processing/processingsvc"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
	"github.com/lattice-platform/lattice/services/search/searchsvc"
)

// target is one deployable service (grafana/mimir's modules are the
// model): its name, the targets it calls, how its store is migrated (nil:
// it has none) and how it is wired. serve, migrate and the gateway's
// upstreams all read the registry; nothing else lists the services.
type target struct {
	name string
	// port is the default public port on 127.0.0.1; the internal
	// (metrics) listener defaults to port+1000.
	port int
	// needs are the targets this one calls; they come first in the
	// registry, so --target=all starts them first.
	needs   []string
	migrate func(ctx context.Context, cfg Config) error
	build   func(p *platform, log *slog.Logger) (builtService, error)
}

// registry is every target, each after those it needs.
var registry = []target{
	{name: "auth", port: 8081, migrate: func(ctx context.Context, cfg Config) error { return authsvc.Migrate(ctx, cfg.Auth.DatabaseURL) },
		build: buildAuth},
	{name: "resource", port: 8082, needs: []string{"auth"},
		migrate: func(ctx context.Context, cfg Config) error { return resourcesvc.Migrate(ctx, cfg.Resource.DatabaseURL) },
		build:   buildResource},
	{name: "search", port: 8083, needs: []string{"auth", "resource"},
		migrate: func(ctx context.Context, cfg Config) error { return searchsvc.Migrate(ctx, cfg.Search.DatabaseURL) },
		build:   buildSearch},
	{name: "processing", port: 8084, needs: []string{"auth", "resource"}, build: buildProcessing},
	{name: "analytics", port: 8085, needs: []string{"auth", "resource"},
		migrate: func(ctx context.Context, cfg Config) error { return analyticssvc.Migrate(ctx, cfg.Analytics) },
		build:   buildAnalytics},
	{name: "gateway", port: 8080, needs: []string{"auth", "resource", "search", "processing", "analytics"}, build: buildGateway},
}

func lookupTarget(name string) (target, bool) {
	i := slices.IndexFunc(registry, func(t target) bool { return t.name == name })
	if i < 0 {
		return target{}, false
	}
	return registry[i], true
}

func targetNames() []string {
	names := make([]string, len(registry))
	for i, t := range registry {
		names[i] = t.name
	}
	return names
}

// parseTarget turns --target into the targets to run, in registry order.
func parseTarget(name string) ([]string, error) {
	if name == "all" {
		return targetNames(), nil
	}
	if _, ok := lookupTarget(name); !ok {
		return nil, fmt.Errorf("unknown target %q (want all or one of %s)", name, strings.Join(targetNames(), ", "))
	}
	return []string{name}, nil
}

func buildAuth(p *platform, log *slog.Logger) (builtService, error) {
	b, err := p.bus()
	if err != nil {
		return builtService{}, err
	}
	ac := p.cfg.Auth
	ac.Publisher = b.publisher // audit events, through the outbox
	svc, err := authsvc.New(p.ctx, ac, log)
	if err != nil {
		return builtService{}, err
	}
	p.auth = svc
	return builtService{http: svc.HTTP, run: svc.Run, close: svc.Close}, nil
}

func buildResource(p *platform, log *slog.Logger) (builtService, error) {
	v, b, err := p.verifierAndBus(log)
	if err != nil {
		return builtService{}, err
	}
	rc := p.cfg.Resource
	rc.Verifier, rc.Publisher, rc.Subscriber = v, b.publisher, b.subscriber
	if rc.Blobs, err = blobStore(p.ctx, p.cfg); err != nil {
		return builtService{}, err
	}
	svc, err := resourcesvc.New(p.ctx, rc, log)
	if err != nil {
		return builtService{}, err
	}
	return builtService{http: svc.HTTP, run: svc.Run, close: svc.Close}, nil
}

func buildSearch(p *platform, log *slog.Logger) (builtService, error) {
	v, b, err := p.verifierAndBus(log)
	if err != nil {
		return builtService{}, err
	}
	sc := p.cfg.Search
	sc.Verifier, sc.JetStream, sc.Subscriber = v, b.js, b.subscriber
	sc.IndexDir = filepath.Join(p.cfg.DataDir, sc.Consumer)
	if sc.Embedder, err = embedder(p.cfg); err != nil {
		return builtService{}, err
	}
	svc, err := searchsvc.New(p.ctx, sc, log)
	if err != nil {
		return builtService{}, err
	}
	return builtService{http: svc.HTTP, run: svc.Run, close: svc.Close}, nil
}

func buildProcessing(p *platform, log *slog.Logger) (builtService, error) {
	v, b, err := p.verifierAndBus(log)
	if err != nil {
		return builtService{}, err
	}
	id, secret, err := p.credentials()
	if err != nil {
		return builtService{}, err
	}
	if id == "" {
		return builtService{}, errors.New("set LATTICE_SERVICE_CLIENT_ID and LATTICE_SERVICE_CLIENT_SECRET (a client allowed resources:admin) so it can read resources")
	}
	pc := p.cfg.Processing
	pc.JetStream, pc.Publisher, pc.Subscriber, pc.Verifier = b.js, b.publisher, b.subscriber, v
	pc.ServiceHTTP = serviceClient(p.ctx, p.cfg, id, secret)
	if pc.Embedder, err = embedder(p.cfg); err != nil {
		return builtService{}, err
	}
	svc, err := processingsvc.New(p.ctx, pc, log)
	if err != nil {
		return builtService{}, err
	}
	return builtService{http: svc.HTTP, run: svc.Run, close: svc.Close}, nil
}

func buildAnalytics(p *platform, log *slog.Logger) (builtService, error) {
	ac := p.cfg.Analytics
	if ac.SigningKeySeed == nil { // the all-in-one process (serve refuses a lone analytics without a key)
		seed, err := localAuditKey(p.cfg.DataDir, log)
		if err != nil {
			return builtService{}, err
		}
		ac.SigningKeySeed = seed
	}
	v, b, err := p.verifierAndBus(log)
	if err != nil {
		return builtService{}, err
	}
	ac.Verifier, ac.JetStream = v, b.js
	svc, err := analyticssvc.New(p.ctx, ac, log)
	if err != nil {
		return builtService{}, err
	}
	return builtService{http: svc.HTTP, run: svc.Run, close: svc.Close}, nil
}

func buildGateway(p *platform, log *slog.Logger) (builtService, error) {
	v, b, err := p.verifierAndBus(log)
	if err != nil {
		return builtService{}, err
	}
	gc := p.cfg.Gateway
	gc.Verifier, gc.Upstreams, gc.Usage = v, gatewayUpstreams(p.cfg, p.services), b.publisher
	if gc.Limiter, err = rateLimiter(p.cfg); err != nil {
		return builtService{}, err
	}
	svc, err := gatewaysvc.New(gc, log)
	if err != nil {
		return builtService{}, err
	}
	return builtService{http: svc.HTTP, run: svc.Run, close: func() {}}, nil
}
