package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
)

// targets lists every service the design names; built says which exist.
var (
	targets = []string{"gateway", "auth", "resource", "search", "processing", "analytics"}
	built   = map[string]bool{"auth": true}
)

// parseTarget turns --target into the services to run, refusing unbuilt
// ones with a clear message.
func parseTarget(target string) ([]string, error) {
	if target == "all" {
		var out []string
		for _, t := range targets {
			if built[t] {
				out = append(out, t)
			}
		}
		return out, nil
	}
	if !slices.Contains(targets, target) {
		return nil, fmt.Errorf("unknown target %q (want all or one of %s)", target, strings.Join(targets, ", "))
	}
	if !built[target] {
		return nil, fmt.Errorf("target %q is not built yet; see README.md, \"What is not built yet\"", target)
	}
	return []string{target}, nil
}

// targetFlags is the flag set of a command that acts on --target services.
type targetFlags struct {
	*flag.FlagSet
	target *string
}

func newTargetFlags(name string, stderr io.Writer) targetFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return targetFlags{FlagSet: fs, target: fs.String("target", "all", "all, or one of "+strings.Join(targets, ", "))}
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
		cfg.AuthHTTP.Addr = *authAddr
	}
	log := observe.NewLogger(stdout, cfg.LogLevel, "")
	slog.SetDefault(log)

	shutdownTracing, err := observe.SetupTracing(ctx, "lattice", version)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() { _ = shutdownTracing(context.Background()) }()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(services))
	for _, name := range services {
		switch name {
		case "auth":
			svcLog := log.With("service", authsvc.Name)
			svc, err := authsvc.New(ctx, cfg.Auth, svcLog)
			if err != nil {
				return fmt.Errorf("auth: %w", err)
			}
			defer svc.Close()
			srv, err := httpserver.Listen(cfg.AuthHTTP, httpserver.Handler(cfg.AuthHTTP, svc.HTTP), svcLog)
			if err != nil {
				return fmt.Errorf("auth: %w", err)
			}
			svcLog.Info("serving", "addr", srv.Addr().String())
			if ready != nil {
				ready(name, srv.Addr())
			}
			wg.Add(2)
			go func() { defer wg.Done(); svc.Run(ctx) }()
			go func() {
				defer wg.Done()
				if err := srv.Serve(ctx); err != nil {
					errs <- fmt.Errorf("auth: %w", err)
					cancel()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}
