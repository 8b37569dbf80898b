// Package routing reads the gateway's route table from YAML: routes
// (prefix, upstream, auth mode, rate-limit class, timeout, body cap) and
// rate-limit classes. An embedded default serves `make run`.
package routing

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/gateway/domain"
)

//go:embed routes.yaml
var defaultRoutes []byte

// Class is a rate-limit class: budgets per client address and per
// identity.
type Class struct {
	PerIP       ports.RateLimit
	PerIdentity ports.RateLimit
}

// Config is a loaded route file.
type Config struct {
	Table   *domain.Table
	Classes map[string]Class
}

type limitYAML struct {
	Rate   int           `yaml:"rate"`
	Period time.Duration `yaml:"period"`
	Burst  int           `yaml:"burst"`
}

type fileYAML struct {
	Classes map[string]struct {
		PerIP       limitYAML `yaml:"per_ip"`
		PerIdentity limitYAML `yaml:"per_identity"`
	} `yaml:"classes"`
	Routes []struct {
		Prefix   string        `yaml:"prefix"`
		Upstream string        `yaml:"upstream"`
		Auth     string        `yaml:"auth"`
		Class    string        `yaml:"class"`
		Timeout  time.Duration `yaml:"timeout"`
		MaxBody  int64         `yaml:"max_body_bytes"`
		Split    *struct {
			Upstream string `yaml:"upstream"`
			Percent  int    `yaml:"percent"`
		} `yaml:"split"`
		Shadow *struct {
			Upstream  string   `yaml:"upstream"`
			Ignore    []string `yaml:"ignore"`
			Unordered []string `yaml:"unordered"`
		} `yaml:"shadow"`
		Migration *struct {
			Lattice   string   `yaml:"lattice"`
			Ignore    []string `yaml:"ignore"`
			Unordered []string `yaml:"unordered"`
			Canary    *struct {
				ErrorMargin *float64       `yaml:"error_margin"`
				P95Margin   *time.Duration `yaml:"p95_margin"`
				Window      *time.Duration `yaml:"window"`
				MinRequests *int           `yaml:"min_requests"`
			} `yaml:"canary"`
		} `yaml:"migration"`
	} `yaml:"routes"`
}

// Load reads path, or the embedded default when path is empty, and
// validates it against the configured upstreams.
func Load(path string, upstreams map[string]bool) (Config, error) {
	raw := defaultRoutes
	if path != "" {
		var err error
		if raw, err = os.ReadFile(path); err != nil {
			return Config{}, fmt.Errorf("routes: %w", err)
		}
	}
	return Parse(raw, upstreams)
}

// Parse validates a route file's contents. Unknown fields are errors, so
// a typo cannot silently disable a setting.
func Parse(raw []byte, upstreams map[string]bool) (Config, error) {
	var f fileYAML
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return Config{}, fmt.Errorf("routes: %w", err)
	}
	cfg := Config{Classes: map[string]Class{}}
	names := map[string]bool{}
	for name, c := range f.Classes {
		for _, l := range []limitYAML{c.PerIP, c.PerIdentity} {
			if l.Rate <= 0 || l.Period <= 0 || l.Burst <= 0 {
				return Config{}, fmt.Errorf("routes: class %s: rate, period and burst must be positive", name)
			}
		}
		cfg.Classes[name] = Class{
			PerIP:       ports.RateLimit{Rate: c.PerIP.Rate, Period: c.PerIP.Period, Burst: c.PerIP.Burst},
			PerIdentity: ports.RateLimit{Rate: c.PerIdentity.Rate, Period: c.PerIdentity.Period, Burst: c.PerIdentity.Burst},
		}
		names[name] = true
	}
	routes := make([]domain.Route, len(f.Routes))
	for i, r := range f.Routes {
		routes[i] = domain.Route{Prefix: r.Prefix, Upstream: r.Upstream, Auth: domain.AuthMode(r.Auth), Class: r.Class, Timeout: r.Timeout, MaxBody: r.MaxBody}
		if r.Split != nil {
			routes[i].Split = &domain.Split{Upstream: r.Split.Upstream, Percent: r.Split.Percent}
		}
		if r.Shadow != nil {
			routes[i].Shadow = &domain.Shadow{Upstream: r.Shadow.Upstream, Ignore: r.Shadow.Ignore, Unordered: r.Shadow.Unordered}
		}
		if r.Migration != nil {
			m := &domain.Migration{Lattice: r.Migration.Lattice, Ignore: r.Migration.Ignore, Unordered: r.Migration.Unordered, Canary: domain.DefaultCanaryGuard}
			if c := r.Migration.Canary; c != nil {
				setIf(&m.Canary.ErrorMargin, c.ErrorMargin)
				setIf(&m.Canary.P95Margin, c.P95Margin)
				setIf(&m.Canary.Window, c.Window)
				setIf(&m.Canary.MinRequests, c.MinRequests)
			}
			routes[i].Migration = m
		}
	}
	t, err := domain.NewTable(routes, upstreams, names)
	if err != nil {
		return Config{}, fmt.Errorf("routes: %w", err)
	}
	cfg.Table = t
	return cfg, nil
}

// setIf sets *dst to *v when the file gave v.
func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
