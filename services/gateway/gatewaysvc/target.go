package gatewaysvc

import (
	"context"
	"strings"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/routestates"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/target"
)

// Target is the gateway as a deployable target; it needs every other
// target, so a process running several starts it last.
var Target = target.New(target.Description[Config]{
	Name: Name, Port: 8080, Needs: []string{"auth", "resource", "search", "processing", "analytics"}, Uses: []target.System{target.Redis},
	Bus: natsjs.Grants{Publishes: []string{"usage.gateway", "audit.gateway"}, Owns: []string{"KV_" + routestates.Bucket}},
	// About 9 MiB of heap in use, and about 15 KiB allocated per proxied
	// request: at Go's default the collector ran about ten times a second.
	// 400 measured 4–8 % more requests/s for about 20 MiB more memory
	// (ADR 0035).
	GCPercent: 400,
	// Go's monitor thread (sysmon) parks whenever every P is idle, and
	// the next system call to return wakes it and sets it polling every
	// 20 µs again: a busy proxy's Ps are all idle many times a second, so
	// it paid about 0.3 nanosleeps, 0.13 futex calls and 0.4 context
	// switches a request for it. With a scheduler trace period set (the
	// longest, about 25 days: one line on standard error that often)
	// sysmon never parks and slows to one look every 10 ms while there is
	// nothing to take back (ADR 0050).
	GODEBUG: "schedtrace=2147483647",
	Config:  func(env *config.Env, s target.Settings) Config { return LoadConfig(env, s) },
	Build: func(_ context.Context, c Config, p *target.Platform) (target.Service, error) {
		v, b, err := p.VerifierAndBus()
		if err != nil {
			return target.Service{}, err
		}
		c.Verifier, c.Upstreams, c.Usage = v, p.Upstreams(), b.Publisher
		if c.Limiter, err = p.Limiter(); err != nil {
			return target.Service{}, err
		}
		if c.Transport, err = p.Transport(); err != nil {
			return target.Service{}, err
		}
		c.Migration = routestates.New(b.JetStream, p.Settings().NATSReplicas)
		c.Audit = natsjs.NewAuditTrail(b.Publisher, Name)
		svc, err := New(c, p.Logger(Name))
		if err != nil {
			return target.Service{}, err
		}
		return target.Service{HTTP: svc.HTTP, Run: svc.Run}, nil
	},
})

// LoadConfig reads the gateway's settings from the environment.
func LoadConfig(env *config.Env, s target.Settings) Config {
	c := Config{
		RoutesFile:  env.String("GATEWAY_ROUTES_FILE", ""),
		MaxInFlight: env.Int("GATEWAY_MAX_INFLIGHT", 1024),
		MaxBody:     s.MaxBody,
		// net/http is the way back should fasthttp misbehave (ADR 0032).
		UpstreamClient: env.String("GATEWAY_UPSTREAM_CLIENT", UpstreamFastHTTP),
		// fasthttp serves plain proxied requests in front of net/http
		// (ADR 0044); net/http alone is the way back.
		Server: env.String("GATEWAY_SERVER", ServerFastHTTP),
		// A migration's cut-over: the client registered for the token
		// exchange of legacy sessions (docs/migration.md).
		LegacyExchangeClientID: env.String("GATEWAY_LEGACY_EXCHANGE_CLIENT_ID", ""),
		LegacyExchangeSecret:   env.Secret("GATEWAY_LEGACY_EXCHANGE_CLIENT_SECRET", ""),
	}
	if origins := env.String("GATEWAY_CORS_ORIGINS", ""); origins != "" {
		c.CORSOrigins = strings.Split(origins, ",")
	}
	return c
}
