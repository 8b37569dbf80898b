package target

import (
	"fmt"
	"strings"

	"github.com/lattice-platform/lattice/pkg/adapters/openaiembed"
	"github.com/lattice-platform/lattice/pkg/adapters/s3blob"
	"github.com/lattice-platform/lattice/pkg/platform/clientaddr"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/priority"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
)

// Settings are what every target of a process shares, read from the
// environment. README.md's configuration table lists the same variables
// with the same defaults.
type Settings struct {
	// HTTP holds each target's listeners, by target name.
	HTTP map[string]httpserver.Config
	// URLs is where each target is reached (<NAME>_URL), by name, plus
	// "legacy" when LEGACY_BASE_URL is set.
	URLs map[string]string
	// Issuer and Audience are what access tokens carry (auth issues them,
	// every service verifies them).
	Issuer, Audience string
	// The service client: how services authenticate to auth's
	// introspection and to each other.
	ServiceClientID, ServiceClientSecret string
	// NATSURL is the event bus; empty runs an embedded server with its
	// streams under DataDir.
	NATSURL string
	// NATSReplicas is how many times the streams are replicated: 3 on a
	// cluster of three, so that one node may be lost.
	NATSReplicas int
	// RedisURL, when set, holds sessions and rate-limit budgets.
	RedisURL string
	DataDir  string
	// S3 holds the blob store's server; an empty endpoint means files live
	// under DataDir.
	S3 s3blob.Config
	// Embeddings selects the embedder processing and search share: an
	// OpenAI-compatible server when BaseURL is set, the built-in lexical
	// embedder otherwise.
	Embeddings openaiembed.Config
	// MaxBody is the default request body cap (HTTP_MAX_BODY_BYTES).
	MaxBody int64
	// RedisTLSCA is the CA a rediss:// REDIS_URL is verified against
	// (REDIS_TLS_CA_FILE; unset: the system's roots).
	RedisTLSCA string
	// MySQLTLSCA is the CA a MySQL-protocol DSN with tls=lattice verifies
	// its server against (MYSQL_TLS_CA_FILE).
	MySQLTLSCA string
	// TLS names this process's certificate files; with a certificate,
	// every listener serves TLS 1.3 and every internal client presents it
	// and trusts only the CA (docs/deploy.md).
	TLS tlsfiles.Files
	// AdminClientCertsOptional (ADMIN_CLIENT_CERTS=optional) lets callers
	// without a certificate reach the admin listeners under mutual TLS:
	// a kubelet's probes and a Prometheus without a client certificate.
	// The public listeners still require one.
	AdminClientCertsOptional bool
	// AdminProfiling (ADMIN_PPROF=true) serves Go's profiles under
	// /debug/pprof on the admin listeners, for an operator who must see
	// where a process spends its time. Off by default: a profile shows
	// internals, and taking one costs CPU.
	AdminProfiling bool
	// BackgroundPercent (LATTICE_BACKGROUND_PERCENT, 1–100) is the share
	// of time the process's event consumers and job workers take while it
	// serves requests; 100 lets them run as they come (ADR 0034).
	BackgroundPercent int
}

// ReadSettings reads the shared settings, with listeners and URLs for
// every target of the registry; malformed values are reported through env.
func ReadSettings(env *config.Env, registry []Target) Settings {
	s := Settings{
		Issuer:              strings.TrimSuffix(env.String("AUTH_ISSUER", "http://127.0.0.1:8080"), "/"),
		Audience:            env.String("AUTH_AUDIENCE", "lattice"),
		ServiceClientID:     env.String("LATTICE_SERVICE_CLIENT_ID", ""),
		ServiceClientSecret: env.Secret("LATTICE_SERVICE_CLIENT_SECRET", ""),
		NATSURL:             env.Secret("NATS_URL", ""),
		NATSReplicas:        env.Int("NATS_REPLICAS", 1),
		RedisURL:            env.Secret("REDIS_URL", ""),
		DataDir:             env.String("LATTICE_DATA_DIR", ".lattice"),
		S3: s3blob.Config{
			Endpoint: env.String("S3_ENDPOINT", ""), Region: env.String("S3_REGION", "us-east-1"),
			Bucket: env.String("S3_BUCKET", "lattice"), AccessKey: env.Secret("S3_ACCESS_KEY", ""), SecretKey: env.Secret("S3_SECRET_KEY", ""),
		},
		Embeddings: openaiembed.Config{
			BaseURL:    strings.TrimSuffix(env.String("EMBEDDINGS_URL", ""), "/"),
			APIKey:     env.Secret("EMBEDDINGS_API_KEY", ""),
			Model:      env.String("EMBEDDINGS_MODEL", ""),
			Dimensions: env.Int("EMBEDDINGS_DIMENSIONS", 0),
		},
		MaxBody:    int64(env.Int("HTTP_MAX_BODY_BYTES", 1<<20)),
		MySQLTLSCA: env.String("MYSQL_TLS_CA_FILE", ""),
		RedisTLSCA: env.String("REDIS_TLS_CA_FILE", ""),
		TLS: tlsfiles.Files{Cert: env.String("TLS_CERT_FILE", ""), Key: env.String("TLS_KEY_FILE", ""),
			CA: env.String("TLS_CA_FILE", ""), ClientCA: env.String("TLS_CLIENT_CA", "")},
	}
	s.BackgroundPercent = env.Int("LATTICE_BACKGROUND_PERCENT", priority.DefaultPercent)
	if s.BackgroundPercent > 100 {
		env.Invalid("LATTICE_BACKGROUND_PERCENT", fmt.Errorf("%d: want a percent from 1 to 100", s.BackgroundPercent))
		s.BackgroundPercent = priority.DefaultPercent
	}
	switch v := env.String("ADMIN_PPROF", "false"); v {
	case "false":
	case "true":
		s.AdminProfiling = true
	default:
		env.Invalid("ADMIN_PPROF", fmt.Errorf("%q: want true or false", v))
	}
	switch v := env.String("ADMIN_CLIENT_CERTS", "required"); v {
	case "required":
	case "optional":
		s.AdminClientCertsOptional = true
	default:
		env.Invalid("ADMIN_CLIENT_CERTS", fmt.Errorf("%q: want required or optional", v))
	}
	s.HTTP, s.URLs = readListeners(env, registry, s.MaxBody, s.TLS.Enabled())
	if legacy := env.String("LEGACY_BASE_URL", ""); legacy != "" {
		s.URLs["legacy"] = strings.TrimSuffix(legacy, "/")
	}
	return s
}

// Gateway is the target whose listener trusts GATEWAY_TRUSTED_PROXIES and
// which the others are reached through.
const Gateway = "gateway"

// readListeners reads every target's listeners (<NAME>_ADDR,
// <NAME>_ADMIN_ADDR, the trusted proxies) and the URLs the others reach it
// at (<NAME>_URL), with defaults from the registry's ports.
func readListeners(env *config.Env, registry []Target, maxBody int64, tls bool) (map[string]httpserver.Config, map[string]string) {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	services := proxies(env, "TRUSTED_PROXIES", clientaddr.Loopback)
	gateway := proxies(env, "GATEWAY_TRUSTED_PROXIES", "none")
	http, urls := map[string]httpserver.Config{}, map[string]string{}
	for _, t := range registry {
		upper := strings.ToUpper(t.Name)
		h := httpserver.Config{Addr: env.String(upper+"_ADDR", fmt.Sprintf("127.0.0.1:%d", t.Port)),
			AdminAddr: env.String(upper+"_ADMIN_ADDR", fmt.Sprintf("127.0.0.1:%d", t.Port+1000)), MaxBodyBytes: maxBody,
			TrustedProxies: services}
		if h.AdminAddr == "off" {
			h.AdminAddr = ""
		}
		if t.Name == Gateway {
			h.TrustedProxies = gateway
		} else {
			urls[t.Name] = strings.TrimSuffix(env.String(upper+"_URL", fmt.Sprintf("%s://127.0.0.1:%d", scheme, t.Port)), "/")
		}
		http[t.Name] = h
	}
	return http, urls
}

// proxies reads a list of trusted proxies.
func proxies(env *config.Env, key, def string) *clientaddr.Proxies {
	p, err := clientaddr.Parse(env.String(key, def))
	if err != nil {
		env.Invalid(key, err)
	}
	return p
}

// DefaultPostgres is the machine's PostgreSQL with trust auth; each
// service that uses it gets its own database on it.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/"
