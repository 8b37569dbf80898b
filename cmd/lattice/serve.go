package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/platform/health"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/logwriter"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/pkg/target"
)

// targetFlags is the flag set of a command that acts on --target services.
type targetFlags struct {
	*flag.FlagSet
	target *string
}

func newTargetFlags(name string, stderr io.Writer) targetFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return targetFlags{FlagSet: fs, target: fs.String("target", "all", "all, or one of "+strings.Join(targetNames(), ", "))}
}

// parse reads the flags and then the configuration, so that a bad target
// is reported before any configuration problem.
func (f targetFlags) parse(args []string, lookup func(string) (string, bool)) ([]string, Config, error) {
	if err := f.Parse(args); err != nil {
		return nil, Config{}, err
	}
	services, err := parseTarget(*f.target)
	if err != nil {
		return nil, Config{}, err
	}
	cfg, err := loadConfig(&config.Env{Lookup: lookup})
	if err != nil {
		return nil, Config{}, fmt.Errorf("configuration: %w", err)
	}
	cfg.trustNoProxyUnlessSet(services, lookup)
	for _, name := range services {
		if err := cfg.Targets[name].Check(services); err != nil {
			return nil, Config{}, err
		}
	}
	return services, cfg, nil
}

// cmdServe runs the chosen services until ctx ends. ready, if not nil,
// receives each service's bound address (tests use it with port 0).
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool), ready func(service string, addr net.Addr)) error {
	fs := newTargetFlags("serve", stderr)
	authAddr := fs.String("auth-addr", "", "override AUTH_ADDR")
	services, cfg, err := fs.parse(args, lookup)
	if err != nil {
		return err
	}
	if *authAddr != "" {
		auth := cfg.Settings.HTTP["auth"]
		auth.Addr = *authAddr
		cfg.Settings.HTTP["auth"] = auth
	}
	// Lines logged while one is being written leave together in the next
	// write: one system call per request was a measurable share of the
	// gateway's CPU (ADR 0036).
	logOut := logwriter.New(stdout, 0)
	defer func() { _ = logOut.Close() }() // last: whatever else logs on the way out is written
	log := observe.NewLogger(logOut, cfg.LogLevel, "")
	slog.SetDefault(log)
	if n, ok := gcPercent(services, lookup); ok {
		defer debug.SetGCPercent(debug.SetGCPercent(n)) // restored for an in-process caller
		log.Info("garbage collector set for the target", "target", services[0], "gogc", n)
	}
	if want, missing := missingGODEBUG(services, lookup); len(missing) > 0 {
		log.Warn("the target runs best started with these runtime settings in GODEBUG (Go reads it only at start)",
			"target", services[0], "godebug", want, "missing", missing)
	}
	if n, ok := maxProcs(services, lookup, runtime.GOMAXPROCS(0)); ok {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n)) // restored for an in-process caller
		log.Info("more Ps than cores for several targets", "gomaxprocs", n)
	}

	shutdownTracing, err := observe.SetupTracing(ctx, "lattice", version)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() { _ = shutdownTracing(context.Background()) }()

	// With TLS configured, every listener serves with the process's
	// certificate store (reloaded on change).
	var tlsStore *tlsfiles.Store
	if cfg.Settings.TLS.Enabled() {
		if tlsStore, err = tlsfiles.Open(cfg.Settings.TLS); err != nil {
			return err
		}
		tlsStore.OnReloadError(func(err error) {
			log.Error("changed TLS files cannot be loaded; serving with the previous certificate", "error", err)
		})
	}
	// Bind every listener first: with port 0 the addresses are known only
	// then, and the targets of one process reach each other through them.
	bound, err := bindListeners(services, cfg, tlsStore, log)
	defer func() {
		for _, l := range bound {
			l.close()
		}
	}()
	if err != nil {
		return err
	}
	cfg.wireBoundAddresses(services, bound, lookup)

	p := target.NewPlatform(ctx, cfg.Settings, services, log)
	p.UseTLS(tlsStore)
	p.TrustServiceCredentialFrom(serviceCredentialHolders())
	defer p.Close() // last: the services built on it close first
	built, err := buildServices(ctx, p, services, cfg)
	for _, b := range built {
		if b.close != nil {
			defer b.close()
		}
	}
	if err != nil {
		return err
	}

	// A stop (SIGTERM ends ctx) first turns every /readyz false for the
	// drain delay, so load balancers and the gateway stop sending new
	// requests; then the listeners finish what is in flight and the
	// consumers stop after their current message.
	drain := &health.Drain{}
	serving, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	go func() {
		select {
		case <-ctx.Done():
		case <-serving.Done():
			return
		}
		drain.Start()
		log.Info("draining", "delay", cfg.DrainDelay.String())
		t := time.NewTimer(cfg.DrainDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-serving.Done():
		}
		stopServing()
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(built))
	serve := func(name string, srv *httpserver.Server) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(serving); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				stopServing()
			}
		}()
	}
	for _, b := range built {
		if b.http.Checks == nil {
			b.http.Checks = health.Checks{}
		}
		b.http.Checks["shutdown"] = drain.Check
		if tlsStore != nil && b.http.Metrics != nil {
			// Each service's /metrics says when the certificates it serves with expire.
			if err := b.http.Metrics.Registry.Register(tlsStore.Metrics()); err != nil {
				return err
			}
		}
		if b.http.Metrics != nil {
			if err := b.http.Metrics.Registry.Register(p.Gate().Collector()); err != nil {
				return err
			}
		}
		l := bound[b.name]
		// Requests count as foreground for the process's background work
		// (ADR 0034); the admin listeners' scrapes and probes do not.
		gate := p.Gate()
		if !countsForeground(b.name, services) {
			gate = nil
		}
		l.public.Handle(gate.Foreground(httpserver.Handler(b.httpCfg, b.http)))
		if b.http.Fast != nil {
			fast := b.http.Fast(b.httpCfg.TrustedProxies)
			l.public.HandleFast(func(ctx *fasthttp.RequestCtx, whole bool) bool {
				gate.BeginAt(ctx.Time())
				defer gate.End()
				return fast(ctx, whole)
			})
		}
		if l.admin != nil {
			admin := httpserver.AdminHandler(b.http)
			if cfg.Settings.AdminProfiling {
				admin = httpserver.WithProfiling(admin)
			}
			l.admin.Handle(admin)
			b.log.Info("serving metrics", "addr", l.admin.Addr().String())
			serve(b.name+" admin", l.admin)
		}
		b.log.Info("serving", "addr", l.public.Addr().String())
		if ready != nil {
			ready(b.name, l.public.Addr())
			if l.admin != nil {
				ready(b.name+"-admin", l.admin.Addr())
			}
		}
		if b.run != nil {
			wg.Add(1)
			go func() { defer wg.Done(); b.run(serving) }()
		}
		serve(b.name, l.public)
		delete(bound, b.name) // served: Serve closes it
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// boundListeners are one target's bound public and internal (admin) sockets.
type boundListeners struct {
	public, admin *httpserver.Server
}

// close releases sockets that were never served.
func (l boundListeners) close() {
	_ = l.public.Close()
	if l.admin != nil {
		_ = l.admin.Close()
	}
}

// bindListeners binds every target's listeners. On error it returns what it
// bound so far, for the caller to close.
func bindListeners(services []string, cfg Config, tlsStore *tlsfiles.Store, log *slog.Logger) (map[string]boundListeners, error) {
	bound := map[string]boundListeners{}
	for _, name := range services {
		h := cfg.Settings.HTTP[name]
		adminTLS := h.TLS
		if tlsStore != nil {
			h.TLS, adminTLS = tlsStore.ServerConfig(), tlsStore.ServerConfig()
			if cfg.Settings.AdminClientCertsOptional {
				adminTLS = tlsStore.OptionalClientServerConfig()
			}
		}
		pub, err := httpserver.Bind(h, log)
		if err != nil {
			return bound, fmt.Errorf("%s: %w", name, err)
		}
		l := boundListeners{public: pub}
		if h.AdminAddr != "" {
			if l.admin, err = httpserver.Bind(httpserver.Config{Addr: h.AdminAddr, TLS: adminTLS}, log); err != nil {
				_ = pub.Close()
				return bound, fmt.Errorf("%s admin listener: %w", name, err)
			}
		}
		bound[name] = l
	}
	return bound, nil
}

// builtService is one wired service, ready to listen.
// countsForeground reports whether the requests of service count as
// foreground for the background work of a process that runs services
// (ADR 0061). Where the process runs the gateway, only the gateway's do:
// they are the users' requests, and the other listeners serve the
// gateway's proxied calls, counted already, and the process's own
// background work (processing reads each resource it works on from
// resource), whose units would otherwise pay for their own calls as if
// users had made them and hold each other back.
func countsForeground(service string, services []string) bool {
	return service == "gateway" || !slices.Contains(services, "gateway")
}

type builtService struct {
	name    string
	http    httpserver.Service
	httpCfg httpserver.Config
	log     *slog.Logger
	run     func(context.Context)
	close   func()
}

// buildServices wires the chosen targets on p in registry order (a target
// after those it calls). It returns what it built so far even on error, so
// the caller can close it.
func buildServices(ctx context.Context, p *target.Platform, services []string, cfg Config) ([]builtService, error) {
	var built []builtService
	for _, name := range services {
		svc, err := cfg.Targets[name].Build(ctx, p)
		if err != nil {
			return built, fmt.Errorf("%s: %w", name, err)
		}
		built = append(built, builtService{name: name, http: svc.HTTP, httpCfg: cfg.Settings.HTTP[name],
			log: p.Logger(name), run: svc.Run, close: svc.Close})
	}
	return built, nil
}
