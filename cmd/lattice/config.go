package main

import (
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/target"
)

// Config is everything the binary reads from the environment: the shared
// settings, and every target of the registry bound to its own. README.md's
// configuration table lists the same variables with the same defaults.
type Config struct {
	LogLevel slog.Level
	// DrainDelay is how long a stopping process keeps serving with /readyz
	// false before it stops accepting requests (SHUTDOWN_DRAIN_DELAY).
	DrainDelay time.Duration
	Settings   target.Settings
	// Targets are the registry's targets with their settings read, by name.
	Targets map[string]target.Loaded
}

// loadConfig reads every target's settings, whichever run, so that every
// malformed value is reported at once.
func loadConfig(env *config.Env) (Config, error) {
	var c Config
	switch strings.ToLower(env.String("LOG_LEVEL", "info")) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		c.LogLevel = slog.LevelInfo
	}
	c.DrainDelay = env.Duration("SHUTDOWN_DRAIN_DELAY", 0)
	c.Settings = target.ReadSettings(env, registry)
	if ca := c.Settings.MySQLTLSCA; ca != "" {
		if err := mysql.RegisterCA(mysql.TLSConfigName, ca); err != nil {
			env.Invalid("MYSQL_TLS_CA_FILE", err)
		}
	}
	c.Targets = make(map[string]target.Loaded, len(registry))
	for _, t := range registry {
		c.Targets[t.Name] = t.Load(env, c.Settings)
	}
	return c, env.Err()
}

// wireBoundAddresses points the targets of one process at each other's
// bound listeners (which port 0 makes known only once bound), unless a
// <NAME>_URL says otherwise; and, when the gateway runs here and
// AUTH_ISSUER is unset, makes the gateway's address the public URL.
func (c *Config) wireBoundAddresses(services []string, bound map[string]boundListeners, lookup func(string) (string, bool)) {
	if len(services) < 2 {
		return // a lone target reaches the others where configured
	}
	url := func(name string) string {
		addr := bound[name].public.Addr().(*net.TCPAddr)
		host := addr.IP.String()
		if addr.IP.IsUnspecified() {
			host = "127.0.0.1"
		}
		scheme := "http://"
		if c.Settings.TLS.Enabled() {
			scheme = "https://"
		}
		return scheme + net.JoinHostPort(host, strconv.Itoa(addr.Port))
	}
	for _, name := range services {
		if name == target.Gateway {
			if v, ok := lookup("AUTH_ISSUER"); !ok || v == "" {
				c.Settings.Issuer = url(name)
			}
			continue
		}
		if v, ok := lookup(strings.ToUpper(name) + "_URL"); !ok || v == "" {
			c.Settings.URLs[name] = url(name)
		}
	}
}

// trustNoProxyUnlessSet drops the all-in-one default (trust the local
// gateway) when this process does not run the gateway: a service deployed
// apart believes forwarding headers only from the proxies it is told of.
func (c *Config) trustNoProxyUnlessSet(services []string, lookup func(string) (string, bool)) {
	if slices.Contains(services, target.Gateway) {
		return
	}
	if v, ok := lookup("TRUSTED_PROXIES"); ok && v != "" {
		return
	}
	for name, h := range c.Settings.HTTP {
		if name != target.Gateway {
			h.TrustedProxies = nil
			c.Settings.HTTP[name] = h
		}
	}
}
