// Package target describes Lattice's deployable services (grafana/mimir's
// modules are the model) and what the services of one process share.
//
// Each service's wiring package exports one Target, made by New from a
// typed Description: its name, default port, the targets it calls, how it
// reads its settings from the environment, how it migrates its store and
// how it is built on a Platform. cmd/lattice lists the Targets in its
// registry; serve, migrate, the listeners and the gateway's upstreams all
// read that list, so adding a service is one entry there.
package target

import (
	"context"
	"errors"
	"fmt"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
)

// System is a kind of system outside Lattice that a target connects to.
type System string

// The systems targets use. Analytics lists both of its stores: it runs on
// ClickHouse when ANALYTICS_CLICKHOUSE_URL is set, else on PostgreSQL.
const (
	PostgreSQL System = "postgresql"
	MySQL      System = "mysql" // TiDB in production, MariaDB in development
	Redis      System = "redis"
	S3         System = "s3"
	ClickHouse System = "clickhouse"
	// Embeddings is the embeddings HTTP API (EMBEDDINGS_URL), when one is set.
	Embeddings System = "embeddings"
)

// Service is one built target, ready to be served.
type Service struct {
	HTTP  httpserver.Service
	Run   func(context.Context) // background work until ctx ends; nil: none
	Close func()                // releases what Build opened; nil: nothing
}

// Description is what a service says about itself, with its settings of
// type C.
type Description[C any] struct {
	Name string
	// Port is the default public port on 127.0.0.1; the internal
	// (metrics) listener defaults to Port+1000.
	Port int
	// Needs are the targets this one calls; the registry lists them
	// first, so a process running several starts them first.
	Needs []string
	// Uses are the systems outside Lattice, besides NATS, that the target
	// connects to (PostgreSQL, Redis, …); deployments open exactly these
	// to it (deploy/k8s's NetworkPolicies, checked by tests/k8s).
	Uses []System
	// Bus is what the target publishes and reads on the event bus; its
	// NATS user is given exactly that (lattice nats authorization).
	Bus natsjs.Grants
	// ServiceCredential says the target calls other services with the
	// service client's token (Platform.ServiceClient). With mutual TLS on,
	// that token is honoured only from the certificates of such targets.
	ServiceCredential bool
	// GCPercent is the garbage collector's GOGC for a process that runs
	// this target alone and whose environment does not set GOGC; 0 keeps
	// Go's default. It suits a target whose live heap is small and whose
	// allocation rate is high, such as a proxy, where Go's default
	// collects many times a second for little gain.
	GCPercent int
	// GODEBUG is the runtime settings ("key=value,…") a process that runs
	// this target alone should start with. Go reads them once, as the
	// process starts, so serve cannot set them as it sets GCPercent: the
	// deployments put them in the environment (tests/k8s and tests/deploy
	// check that they do), and serve logs the ones its environment lacks.
	// An operator's own value for a key wins.
	GODEBUG string
	// Config reads the target's own settings; malformed values are
	// reported through env, all at once.
	Config func(env *config.Env, s Settings) C
	// Check, if set, refuses settings that cannot work for the targets a
	// process runs, before anything is started.
	Check func(c C, running []string) error
	// Migrate creates and migrates the target's store; nil: it has none.
	Migrate func(ctx context.Context, c C) error
	// Build wires the target on the platform the process's targets share.
	Build func(ctx context.Context, c C, p *Platform) (Service, error)
}

// Target is a Description with its settings' type hidden, so the
// registry can list services whose settings differ.
type Target struct {
	Name  string
	Port  int
	Needs []string
	Uses  []System
	Bus   natsjs.Grants
	// ServiceCredential, GCPercent and GODEBUG: see Description.
	ServiceCredential bool
	GCPercent         int
	GODEBUG           string
	// Load reads the settings and binds the other steps to them.
	Load func(env *config.Env, s Settings) Loaded
	// missing names the parts the description lacks (Validate reports them).
	missing []string
}

// Loaded is a target bound to its settings.
type Loaded struct {
	// Check refuses settings that cannot work for the running targets.
	Check func(running []string) error
	// Migrate is nil when the target has no store.
	Migrate func(ctx context.Context) error
	Build   func(ctx context.Context, p *Platform) (Service, error)
}

// New hides d's settings type.
func New[C any](d Description[C]) Target {
	t := Target{Name: d.Name, Port: d.Port, Needs: d.Needs, Uses: d.Uses, Bus: d.Bus, ServiceCredential: d.ServiceCredential, GCPercent: d.GCPercent, GODEBUG: d.GODEBUG}
	if d.Config == nil {
		t.missing = append(t.missing, "Config")
	}
	if d.Build == nil {
		t.missing = append(t.missing, "Build")
	}
	t.Load = func(env *config.Env, s Settings) Loaded {
		var c C
		if d.Config != nil {
			c = d.Config(env, s)
		}
		l := Loaded{Check: func([]string) error { return nil }}
		if d.Check != nil {
			l.Check = func(running []string) error { return d.Check(c, running) }
		}
		if d.Migrate != nil {
			l.Migrate = func(ctx context.Context) error { return d.Migrate(ctx, c) }
		}
		l.Build = func(ctx context.Context, p *Platform) (Service, error) {
			if d.Build == nil {
				return Service{}, errors.New("the target cannot be built")
			}
			return d.Build(ctx, c, p)
		}
		return l
	}
	return t
}

// Validate reports a description that lacks a part every target needs.
func (t Target) Validate() error {
	switch {
	case t.Name == "":
		return errors.New("a target has no name")
	case t.Port <= 0 || t.Port > 64535: // Port+1000 is the internal listener
		return fmt.Errorf("%s: port %d", t.Name, t.Port)
	case t.Load == nil:
		return fmt.Errorf("%s: made without target.New", t.Name)
	case len(t.missing) > 0:
		return fmt.Errorf("%s: the description has no %v", t.Name, t.missing)
	}
	return nil
}
