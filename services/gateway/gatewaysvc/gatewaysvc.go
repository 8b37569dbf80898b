// Package gatewaysvc wires the API gateway: the route table (embedded or
// from a file, reloaded on SIGHUP), upstream URLs, the token verifier, the
// rate limiter (Redis or in-memory), CORS and load shedding.
package gatewaysvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/cors"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/openapi"
	"github.com/lattice-platform/lattice/pkg/adapters/fastupstream"
	"github.com/lattice-platform/lattice/pkg/platform/clientaddr"
	"github.com/lattice-platform/lattice/pkg/platform/fastfront"
	"github.com/lattice-platform/lattice/pkg/platform/health"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/gateway/composite"
	"github.com/lattice-platform/lattice/services/gateway/domain"
	"github.com/lattice-platform/lattice/services/gateway/legacysession"
	"github.com/lattice-platform/lattice/services/gateway/migration"
	"github.com/lattice-platform/lattice/services/gateway/migrationapi"
	"github.com/lattice-platform/lattice/services/gateway/pool"
	"github.com/lattice-platform/lattice/services/gateway/proxy"
	"github.com/lattice-platform/lattice/services/gateway/publicspec"
	"github.com/lattice-platform/lattice/services/gateway/routing"
	"github.com/lattice-platform/lattice/services/gateway/usage"
)

// Name is the service's name in logs, metrics and traces.
const Name = "gateway"

// KnownUpstreams are the names a route may use: every service with a
// contract in openapi/, legacy (the monolith), and the gateway itself
// (domain.Self, for its own endpoints). A route whose upstream
// is not configured answers 503 (its service is not running here).
var KnownUpstreams = knownUpstreams()

func knownUpstreams() map[string]bool {
	known := map[string]bool{"legacy": true, domain.Self: true}
	for _, name := range openapi.Services() {
		if name != "gateway" {
			known[name] = true
		}
	}
	return known
}

// Config is the gateway's configuration.
type Config struct {
	RoutesFile  string            // empty: the embedded default table
	Upstreams   map[string]string // upstream name → base URL
	Verifier    ports.TokenVerifier
	Limiter     ports.RateLimiter
	MaxInFlight int      // load-shedding threshold; default 1024
	CORSOrigins []string // allowed browser origins; empty disables CORS
	MaxBody     int64    // default body cap where a route sets none
	// Usage, if set, receives one usage record per request (published to
	// the USAGE stream); UsageBuffer bounds the records waiting (default
	// 10,000).
	Usage       ports.EventPublisher
	UsageBuffer int
	// Transport is the base of the connections to upstreams (TLS and the
	// client certificate, when configured); nil: http.DefaultTransport's.
	Transport *http.Transport
	// UpstreamClient carries proxied requests: UpstreamFastHTTP (the
	// default) or UpstreamNetHTTP (ADR 0032).
	UpstreamClient string
	// Server is what serves the public listener: ServerNetHTTP ("" too)
	// or ServerFastHTTP, which serves plain proxied requests on fasthttp
	// in front of net/http (ADR 0044; LoadConfig's default). It needs
	// UpstreamFastHTTP.
	Server string
	// LegacyExchangeClientID and LegacyExchangeSecret, when set, make the
	// gateway accept the replaced system's session tokens during a
	// migration, exchanged at auth's token endpoint as this client
	// (registered for the token-exchange grant).
	LegacyExchangeClientID string
	LegacyExchangeSecret   string
	// Migration keeps the migration routes' states, shared by every
	// replica (pkg/adapters/natsjs/routestates); nil: every migration
	// route stays on its legacy upstream and the migration API answers 503.
	Migration migration.Store
	// Audit records migration state changes (nil: not recorded).
	Audit ports.AuditTrail
}

// The upstream clients Config.UpstreamClient names.
const (
	// UpstreamFastHTTP sends every request it can over fasthttp
	// (pkg/adapters/fastupstream) and the rest (bodies of unknown length
	// or over 64 KiB, upgrades, shadowed reads) through net/http's reverse
	// proxy.
	UpstreamFastHTTP = "fasthttp"
	// UpstreamNetHTTP sends every request through net/http's reverse proxy.
	UpstreamNetHTTP = "net/http"
)

// The servers Config.Server names.
const (
	// ServerNetHTTP serves every request with net/http.
	ServerNetHTTP = "net/http"
	// ServerFastHTTP serves on fasthttp the proxied requests that need
	// only the common path (proxy.FastPath) and hands the rest, with their
	// connections, to net/http (pkg/platform/fastfront). Clear-text
	// listeners only: a TLS listener stays on net/http.
	ServerFastHTTP = "fasthttp"
)

// HealthCheckEvery is how often the gateway asks each upstream replica's
// /readyz.
const HealthCheckEvery = 2 * time.Second

// Service is a wired gateway.
type Service struct {
	HTTP      httpserver.Service
	gw        *proxy.Gateway
	fast      *fastupstream.Client // nil: every request goes through net/http
	usage     *usage.Recorder
	migration *migration.Service // nil without a store
	guard     *migration.Guard
	cfg       Config
	log       *slog.Logger
}

// New loads the routes and builds the handler.
func New(cfg Config, log *slog.Logger) (*Service, error) {
	routes, err := routing.Load(cfg.RoutesFile, KnownUpstreams)
	if err != nil {
		return nil, err
	}
	// An upstream is one URL or a comma-separated list of replicas.
	upstreams, first := map[string][]*url.URL{}, map[string]*url.URL{}
	for name, raw := range cfg.Upstreams {
		urls, ok := pool.Parse(raw)
		if !ok {
			return nil, fmt.Errorf("gateway: upstream %s: %q is not an absolute URL or a comma-separated list of them", name, raw)
		}
		// The composites call the first replica (a DNS name as it resolves).
		one := *urls[0]
		one.Scheme = strings.TrimPrefix(one.Scheme, "dns+")
		upstreams[name], first[name] = urls, &one
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 1024
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	metrics := observe.NewMetrics(Name)
	// A limiter with metrics of its own (the Redis one's fallback) shows
	// them with the gateway's.
	if c, ok := cfg.Limiter.(prometheus.Collector); ok {
		if err := metrics.Registry.Register(c); err != nil {
			return nil, err
		}
	}
	gw := proxy.New(routes, upstreams, cfg.Verifier, cfg.Limiter, cfg.MaxBody, log)
	gw.UseTransport(cfg.Transport)
	var fast *fastupstream.Client
	switch cfg.UpstreamClient {
	case "", UpstreamFastHTTP:
		fast = fastupstream.New(fastupstream.Options{TLS: cfg.Transport.TLSClientConfig, DropResponseHeaders: proxy.DroppedResponseHeaders})
		gw.UseFastUpstream(fast)
	case UpstreamNetHTTP:
	default:
		return nil, fmt.Errorf("gateway: upstream client %q: want %s or %s", cfg.UpstreamClient, UpstreamFastHTTP, UpstreamNetHTTP)
	}
	if cfg.LegacyExchangeClientID != "" || cfg.LegacyExchangeSecret != "" {
		auth, ok := first["auth"]
		if !ok {
			return nil, errors.New("gateway: accepting legacy sessions needs the auth upstream")
		}
		x, err := legacysession.New(auth.JoinPath("/oauth2/token").String(), cfg.LegacyExchangeClientID, cfg.LegacyExchangeSecret,
			&http.Client{Transport: observe.TraceTransport(cfg.Transport.Clone())})
		if err != nil {
			return nil, err
		}
		gw.AcceptLegacySessions(x)
	}
	composites, err := composite.New(first, &http.Client{Transport: observe.TraceTransport(cfg.Transport.Clone())})
	if err != nil {
		return nil, err
	}
	var states *migration.Service
	var guard *migration.Guard
	checks := health.Checks{}
	if cfg.Migration != nil {
		migrationRoutes := func() []domain.Route { return gw.Routes().Table.MigrationRoutes() }
		phases := prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lattice_gateway_migration_phase",
			Help: "Each migration route's phase (1 for the current one) and, for a canary, its percent as the value of phase=\"canary\".",
		}, []string{"route", "phase"})
		if err := metrics.Registry.Register(phases); err != nil {
			return nil, err
		}
		states = migration.New(cfg.Migration, migrationRoutes, ports.SystemClock{}, func(st map[string]domain.MigrationState) {
			gw.SetMigrationStates(st)
			showPhases(phases, migrationRoutes())
		})
		showPhases(phases, migrationRoutes())
		if cfg.Audit != nil {
			states.AuditTo(cfg.Audit)
		}
		if guard, err = migration.NewGuard(states, migrationRoutes, metrics.Registry, log); err != nil {
			return nil, err
		}
		gw.ObserveCanaries(guard)
		checks["migration-states"] = func(context.Context) error {
			if !states.Loaded() {
				return errors.New("the migration routes' states are not read yet")
			}
			return nil
		}
	}
	// The gateway's own endpoints are routed by their generated server;
	// everything else goes to the proxy, which never looks for them.
	mux := chi.NewRouter()
	if err := composite.Register(mux, ownEndpoints{composites, migrationapi.New(states, gw.ShadowStats)}, gw.Local); err != nil {
		return nil, err
	}
	mux.NotFound(gw.ServeHTTP)
	mux.MethodNotAllowed(gw.ServeHTTP)
	var api http.Handler = mux
	if len(cfg.CORSOrigins) > 0 {
		api = cors.Handler(cors.Options{
			AllowedOrigins: cfg.CORSOrigins, AllowCredentials: false, MaxAge: 600,
			AllowedMethods: []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
			AllowedHeaders: []string{"Authorization", "Content-Type", "If-Match", "Idempotency-Key", "Range", "X-Request-ID"},
			ExposedHeaders: []string{"ETag", "Location", "RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-ID", "Content-Range", legacysession.Header},
		})(api)
	}
	public, err := PublicSpec()
	if err != nil {
		return nil, err
	}
	docs, err := publicspec.Handler(public)
	if err != nil {
		return nil, err
	}
	proxied := api
	api = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if publicspec.Serves(r.URL.Path) {
			docs.ServeHTTP(w, r)
			return
		}
		proxied.ServeHTTP(w, r)
	})
	shed, err := proxy.NewShedder(cfg.MaxInFlight, metrics.Registry)
	if err != nil {
		return nil, err
	}
	api = shed.Middleware(api)
	s := &Service{gw: gw, fast: fast, cfg: cfg, log: log, migration: states, guard: guard}
	gw.EnableShadow(metrics.Registry, 64)
	if err := gw.EnableLimitMetrics(metrics.Registry); err != nil {
		return nil, err
	}
	if err := gw.EnablePoolMetrics(metrics.Registry); err != nil {
		return nil, err
	}
	if cfg.Usage != nil {
		if cfg.UsageBuffer == 0 {
			cfg.UsageBuffer = 10_000
		}
		s.usage = usage.New(cfg.Usage, cfg.UsageBuffer, metrics.Registry, log)
		gw.SetUsage(s.usage)
	}
	s.HTTP = httpserver.Service{Name: Name, API: api, Checks: checks, Metrics: metrics, Logger: log, BodyLimit: gw.BodyLimit}
	switch cfg.Server {
	case ServerFastHTTP:
		if fast == nil {
			return nil, fmt.Errorf("gateway: the %s server needs the %s upstream client", ServerFastHTTP, UpstreamFastHTTP)
		}
		own, err := ownPaths(mux)
		if err != nil {
			return nil, err
		}
		s.HTTP.Fast = func(trusted *clientaddr.Proxies) fastfront.Handler {
			return (&proxy.FastPath{Gateway: gw, Own: own, Shed: shed, Metrics: metrics, Log: log, Proxies: trusted, CORS: len(cfg.CORSOrigins) > 0}).Serve
		}
	case "", ServerNetHTTP:
	default:
		return nil, fmt.Errorf("gateway: server %q: want %s or %s", cfg.Server, ServerNetHTTP, ServerFastHTTP)
	}
	return s, nil
}

// ownPaths reports the requests the gateway answers itself: its
// endpoints (routed by mux), the health probes and the published specs.
func ownPaths(mux *chi.Mux) (func(method, path string) bool, error) {
	// chi matches a path only if it starts with a route's text before
	// the route's first parameter or wildcard, and ends with its text
	// after the last parameter; most proxied paths fit no route, and
	// asking chi cost about 1,300 instructions a request (bench/gateway
	// -callgrind).
	type fixedText struct{ prefix, suffix string }
	var routes []fixedText
	err := chi.Walk(mux, func(_, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		var f fixedText
		f.prefix = route
		if i := strings.IndexAny(route, "{*"); i >= 0 {
			f.prefix = route[:i]
			if !strings.Contains(route, "*") {
				f.suffix = route[strings.LastIndexByte(route, '}')+1:]
			}
		}
		if !slices.Contains(routes, f) {
			routes = append(routes, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	contexts := sync.Pool{New: func() any { return chi.NewRouteContext() }}
	return func(method, path string) bool {
		if path == "/healthz" || path == "/readyz" || publicspec.Serves(path) {
			return true
		}
		routed := false
		for _, f := range routes {
			if strings.HasPrefix(path, f.prefix) && strings.HasSuffix(path, f.suffix) {
				routed = true
				break
			}
		}
		if !routed {
			return false
		}
		rc := contexts.Get().(*chi.Context)
		rc.Reset()
		own := mux.Match(rc, method, path)
		contexts.Put(rc)
		return own
	}, nil
}

// ownEndpoints are the operations of openapi/gateway.yaml: the composites
// and the migration API.
type ownEndpoints struct {
	*compositeEndpoints
	*migrationEndpoints
}

// Aliases, so that both Servers embed under names of their own.
type (
	compositeEndpoints = composite.Server
	migrationEndpoints = migrationapi.Server
)

// PublicSpec bundles the contracts of every service Lattice has built into
// the public spec the gateway serves at /openapi.json.
func PublicSpec() (*openapi3.T, error) {
	specs := map[string]*openapi3.T{}
	for _, name := range openapi.Services() {
		doc, err := openapi.Load(name)
		if err != nil {
			return nil, err
		}
		specs[name] = doc
	}
	return publicspec.Bundle("Lattice API", "0.1.0", specs)
}

// Reload re-reads the route file; on error the current table stays.
func (s *Service) Reload() error {
	routes, err := routing.Load(s.cfg.RoutesFile, KnownUpstreams)
	if err != nil {
		return err
	}
	s.gw.SetRoutes(routes)
	return nil
}

// Run publishes usage records and reloads the route file on SIGHUP until
// ctx ends. Requests in flight finish on the table they started with;
// nothing is dropped.
func (s *Service) Run(ctx context.Context) {
	health := make(chan struct{})
	go func() { defer close(health); s.gw.WatchHealth(ctx, HealthCheckEvery) }()
	defer func() { <-health }()
	if s.fast != nil {
		defer s.fast.CloseIdleConnections()
	}
	if s.usage != nil {
		done := make(chan struct{})
		go func() { defer close(done); s.usage.Run(ctx) }()
		defer func() { <-done }()
	}
	if s.migration != nil {
		done := make(chan struct{}, 2)
		go func() { defer func() { done <- struct{}{} }(); s.followMigrationStates(ctx) }()
		go func() { defer func() { done <- struct{}{} }(); s.guard.Run(ctx) }()
		defer func() { <-done; <-done }()
	}
	if s.cfg.RoutesFile == "" {
		<-ctx.Done()
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := s.Reload(); err != nil {
				s.log.ErrorContext(ctx, "route reload failed; keeping the current table", "error", err)
			} else {
				s.log.InfoContext(ctx, "routes reloaded", "file", s.cfg.RoutesFile)
			}
		}
	}
}

// followMigrationStates keeps the routing in step with the stored states,
// watching again a second after the store fails (a NATS restart).
func (s *Service) followMigrationStates(ctx context.Context) {
	for {
		err := s.migration.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		s.log.WarnContext(ctx, "migration states: watching again", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// showPhases sets the phase gauge: 1 for each route's phase (the percent
// for a canary), 0 for the others.
func showPhases(g *prometheus.GaugeVec, routes []domain.Route) {
	for _, r := range routes {
		for _, p := range []domain.Phase{domain.PhaseLegacy, domain.PhaseShadow, domain.PhaseCanary, domain.PhaseLattice} {
			v := 0.0
			if r.State.Phase == p || (r.State.Phase == "" && p == domain.PhaseLegacy) {
				v = 1
				if p == domain.PhaseCanary {
					v = float64(r.State.Percent)
				}
			}
			g.WithLabelValues(r.Prefix, string(p)).Set(v)
		}
	}
}
