// Package httpserver runs a service's HTTP listeners the same way
// everywhere: timeouts that protect against slow clients, a capped body, the
// standard middleware stack (request ids, client addresses, panic recovery,
// tracing, metrics, access logs), /healthz and /readyz, /metrics on a
// separate internal listener, and a graceful shutdown that drains in-flight
// requests.
package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lattice-platform/lattice/pkg/platform/clientaddr"
	"github.com/lattice-platform/lattice/pkg/platform/fastfront"
	"github.com/lattice-platform/lattice/pkg/platform/health"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
)

// Config holds a listener's settings; zero values take the defaults below.
type Config struct {
	Addr              string
	ReadHeaderTimeout time.Duration // default 5s
	ReadTimeout       time.Duration // default 30s
	WriteTimeout      time.Duration // default 60s
	IdleTimeout       time.Duration // default 120s
	ShutdownTimeout   time.Duration // default 20s
	MaxBodyBytes      int64         // default 1 MiB
	MaxHeaderBytes    int           // default 64 KiB
	// AdminAddr is the internal listener for /metrics (and the health
	// probes); "" serves none. The public listener never serves /metrics.
	AdminAddr string
	// TrustedProxies are the peers whose forwarding headers name the
	// client (clientaddr); nil trusts no one.
	TrustedProxies *clientaddr.Proxies
	// TLS, when set, makes the listener serve HTTPS with it (tlsfiles:
	// TLS 1.3, reloaded certificates, client certificates when required).
	TLS *tls.Config
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.ReadHeaderTimeout, 5*time.Second)
	def(&c.ReadTimeout, 30*time.Second)
	def(&c.WriteTimeout, 60*time.Second)
	def(&c.IdleTimeout, 120*time.Second)
	def(&c.ShutdownTimeout, 20*time.Second)
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = 64 << 10
	}
	return c
}

// Service is what a service hands to the server: its name, its API routes,
// its readiness checks and its metrics registry.
type Service struct {
	Name    string
	API     http.Handler
	Checks  health.Checks
	Metrics *observe.Metrics
	Logger  *slog.Logger
	// BodyLimit, if set, overrides Config.MaxBodyBytes for the requests it
	// returns a positive limit for (file uploads).
	BodyLimit func(*http.Request) int64
	// Fast, if set, makes the handler that serves on fasthttp the requests
	// it takes, in front of the middleware and API, which get the rest
	// (pkg/platform/fastfront; ADR 0044), given the listener's trusted
	// proxies. It must do for its requests what the middleware does:
	// request ids, client addresses, recovery, metrics and the access log.
	// Only a clear-text listener uses it.
	Fast func(trusted *clientaddr.Proxies) fastfront.Handler
}

// Handler builds the public handler: the health probes plus the API behind
// the standard middleware. Metrics are on AdminHandler only, so the public
// port (behind the gateway, the internet) never shows them.
func Handler(cfg Config, svc Service) http.Handler {
	cfg = cfg.withDefaults()
	r := chi.NewRouter()
	limit := func(r *http.Request) int64 {
		if svc.BodyLimit != nil {
			if n := svc.BodyLimit(r); n > 0 {
				return n
			}
		}
		return cfg.MaxBodyBytes
	}
	r.Use(RequestID, Peer, clientaddr.Middleware(cfg.TrustedProxies), Recover(svc.Logger), observe.TraceHTTP, svc.Metrics.Middleware, AccessLog(svc.Logger), MaxBody(limit))
	r.Get("/healthz", health.Live)
	r.Get("/readyz", health.Ready(svc.Checks, 3*time.Second, svc.Metrics.ReportReadiness))
	r.Mount("/", svc.API)
	return r
}

// AdminHandler is the internal listener's handler: /metrics for
// Prometheus, /metrics/catalog (every metric name the service can export,
// series or not), and the health probes for orchestrators that probe there.
func AdminHandler(svc Service) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", health.Live)
	r.Get("/readyz", health.Ready(svc.Checks, 3*time.Second, svc.Metrics.ReportReadiness))
	r.Method(http.MethodGet, "/metrics", svc.Metrics.Handler())
	r.Method(http.MethodGet, "/metrics/catalog", svc.Metrics.CatalogHandler())
	return r
}

// WithProfiling serves Go's runtime profiles (net/http/pprof) under
// /debug/pprof/ and everything else with h. For admin listeners only.
func WithProfiling(h http.Handler) http.Handler {
	r := chi.NewRouter()
	r.HandleFunc("/debug/pprof/", pprof.Index)
	r.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	r.HandleFunc("/debug/pprof/profile", pprof.Profile)
	r.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	r.HandleFunc("/debug/pprof/trace", pprof.Trace)
	r.Handle("/debug/pprof/{profile}", http.HandlerFunc(pprof.Index))
	r.Mount("/", h)
	return r
}

// Server is a running listener.
type Server struct {
	srv      *http.Server
	listener net.Listener
	cfg      Config
	log      *slog.Logger
	fast     fastfront.Handler
}

// Listen binds cfg.Addr (":0" picks a free port) and prepares to serve h.
func Listen(cfg Config, h http.Handler, log *slog.Logger) (*Server, error) {
	s, err := Bind(cfg, log)
	if err != nil {
		return nil, err
	}
	s.Handle(h)
	return s, nil
}

// Bind binds cfg.Addr without a handler yet, so a process can learn its
// addresses (port 0) before it wires what answers on them; Handle sets the
// handler before Serve.
func Bind(cfg Config, log *slog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return &Server{
		listener: ln,
		cfg:      cfg,
		log:      log,
		srv: &http.Server{
			ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			ReadTimeout:       cfg.ReadTimeout,
			WriteTimeout:      cfg.WriteTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			MaxHeaderBytes:    cfg.MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			TLSConfig:         cfg.TLS.Clone(), // net/http adds its protocols to the config it serves with
		},
	}, nil
}

// Handle sets what the server answers with; call it before Serve.
func (s *Server) Handle(h http.Handler) { s.srv.Handler = h }

// HandleFast puts fast in front of the handler: it serves on fasthttp the
// requests it takes, and the handler the rest (pkg/platform/fastfront).
// A TLS listener ignores it: fastfront serves clear text only. Call it
// before Serve.
func (s *Server) HandleFast(fast fastfront.Handler) { s.fast = fast }

// Fast reports whether Serve will put a fast handler in front.
func (s *Server) Fast() bool { return s.fast != nil && s.cfg.TLS == nil }

// Close releases a listener that will not be served.
func (s *Server) Close() error { return s.listener.Close() }

// Addr is the bound address, useful when Config.Addr had port 0.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Serve serves until ctx is cancelled, then stops accepting connections and
// waits up to ShutdownTimeout for in-flight requests to finish.
func (s *Server) Serve(ctx context.Context) error {
	serve, shutdown := func() error { return s.srv.Serve(s.listener) }, s.srv.Shutdown
	switch {
	case s.Fast():
		front := fastfront.New(s.fast, s.srv, fastfront.Options{MaxHeaderBytes: s.cfg.MaxHeaderBytes,
			HeaderTimeout: s.cfg.ReadHeaderTimeout, ReadTimeout: s.cfg.ReadTimeout, IdleTimeout: s.cfg.IdleTimeout,
			WriteTimeout: s.cfg.WriteTimeout, Logger: s.log})
		serve, shutdown = func() error { return front.Serve(s.listener) }, front.Shutdown
	case s.cfg.TLS != nil:
		// The certificate comes from TLSConfig.
		serve = func() error { return s.srv.ServeTLS(s.listener, "", "") }
	}
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
