package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/argon2id"
	"github.com/lattice-platform/lattice/pkg/adapters/extract"
	"github.com/lattice-platform/lattice/pkg/adapters/openaiembed"
	"github.com/lattice-platform/lattice/pkg/adapters/s3blob"
	"github.com/lattice-platform/lattice/pkg/adapters/vecindex"
	"github.com/lattice-platform/lattice/pkg/platform/clientaddr"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/services/analytics/analyticssvc"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
	"github.com/lattice-platform/lattice/services/processing/processingsvc"
	resourceapp "github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
	"github.com/lattice-platform/lattice/services/search/searchsvc"
)

// Config is everything the binary reads from the environment. README.md's
// configuration table lists the same variables with the same defaults.
type Config struct {
	LogLevel slog.Level
	Auth     authsvc.Config
	Resource resourcesvc.Config
	// HTTP holds each target's listeners, by target name.
	HTTP map[string]httpserver.Config
	// How services reach auth and authenticate to its introspection
	// endpoint.
	AuthURL             string
	ServiceClientID     string
	ServiceClientSecret string
	// NATSURL is the event bus; empty runs an embedded server with its
	// streams under DataDir.
	NATSURL string
	DataDir string
	// S3 holds the blob store's server; an empty endpoint means files live
	// under DataDir.
	S3 s3blob.Config

	Gateway gatewaysvc.Config
	// Upstream URLs the gateway proxies to, by service.
	Upstreams map[string]string
	RedisURL  string

	Analytics  analyticssvc.Config
	Search     searchsvc.Config
	Processing processingsvc.Config
	// Embeddings selects the embedder processing and search share: an
	// OpenAI-compatible server when BaseURL is set, the built-in lexical
	// embedder otherwise.
	Embeddings openaiembed.Config
}

// defaultPostgres is the machine's PostgreSQL with trust auth; each service
// gets its own database on it.
const defaultPostgres = "postgres://postgres@127.0.0.1:5432/"

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
	c.Auth = authsvc.Config{
		DatabaseURL: env.String("AUTH_DATABASE_URL", defaultPostgres+"lattice_auth?sslmode=disable"),
		RedisURL:    env.String("REDIS_URL", ""),
		Issuer:      strings.TrimSuffix(env.String("AUTH_ISSUER", "http://127.0.0.1:8080"), "/"),
		Audience:    env.String("AUTH_AUDIENCE", "lattice"),
		SessionTTL:  env.Duration("AUTH_SESSION_TTL", 24*time.Hour),
		AccessTTL:   env.Duration("AUTH_ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTTL:  env.Duration("AUTH_REFRESH_TOKEN_TTL", 30*24*time.Hour),
		KeyRotation: env.Duration("AUTH_KEY_ROTATION", 30*24*time.Hour),
		KeyEncKey:   env.Base64Key("AUTH_KEY_ENCRYPTION_KEY", 32),
		Argon2:      argon2id.OWASP,
		// 0: sized from available memory (argon2id.Slots).
		HashConcurrency: env.Int("AUTH_HASH_CONCURRENCY", 0),
	}
	maxBody := int64(env.Int("HTTP_MAX_BODY_BYTES", 1<<20))
	c.Resource = resourcesvc.Config{
		DatabaseURL: env.String("RESOURCE_DATABASE_URL", "root@tcp(127.0.0.1:3306)/lattice_resource"),
		MaxFileSize: int64(env.Int("RESOURCE_MAX_FILE_BYTES", resourceapp.DefaultMaxFileSize)),
		PurgeAfter:  env.Duration("RESOURCE_PURGE_AFTER", 24*time.Hour),
	}
	c.S3 = s3blob.Config{
		Endpoint: env.String("S3_ENDPOINT", ""), Region: env.String("S3_REGION", "us-east-1"),
		Bucket: env.String("S3_BUCKET", "lattice"), AccessKey: env.String("S3_ACCESS_KEY", ""), SecretKey: env.String("S3_SECRET_KEY", ""),
	}
	c.HTTP, c.Upstreams = readListeners(env, maxBody)
	c.AuthURL = c.Upstreams["auth"]
	c.ServiceClientID = env.String("LATTICE_SERVICE_CLIENT_ID", "")
	c.ServiceClientSecret = env.String("LATTICE_SERVICE_CLIENT_SECRET", "")
	c.NATSURL = env.String("NATS_URL", "")
	c.RedisURL = env.String("REDIS_URL", "")
	c.Gateway = gatewaysvc.Config{
		RoutesFile:  env.String("GATEWAY_ROUTES_FILE", ""),
		MaxInFlight: env.Int("GATEWAY_MAX_INFLIGHT", 1024),
		MaxBody:     maxBody,
	}
	if origins := env.String("GATEWAY_CORS_ORIGINS", ""); origins != "" {
		c.Gateway.CORSOrigins = strings.Split(origins, ",")
	}
	if legacy := env.String("LEGACY_BASE_URL", ""); legacy != "" {
		c.Upstreams["legacy"] = strings.TrimSuffix(legacy, "/")
	}
	c.Analytics = analyticssvc.Config{
		DatabaseURL:     env.String("ANALYTICS_DATABASE_URL", defaultPostgres+"lattice_analytics?sslmode=disable"),
		ClickHouseURL:   env.String("ANALYTICS_CLICKHOUSE_URL", ""),
		RawRetention:    env.Duration("ANALYTICS_RAW_RETENTION", 7*24*time.Hour),
		RollupRetention: env.Duration("ANALYTICS_ROLLUP_RETENTION", 400*24*time.Hour),
		CheckpointEvery: env.Duration("ANALYTICS_CHECKPOINT_EVERY", time.Minute),
		ResourceURL:     c.Upstreams["resource"],
	}
	c.Search = searchsvc.Config{
		DatabaseURL: env.String("SEARCH_DATABASE_URL", "root@tcp(127.0.0.1:3306)/lattice_search"),
		Consumer:    env.String("SEARCH_CONSUMER", "search-indexer"),
		Window:      env.Int("SEARCH_WINDOW", 200),
		Vectors: vecindex.Config{
			ANNThreshold: env.Int("SEARCH_ANN_THRESHOLD", 150000),
			HNSW:         vecindex.HNSWConfig{EfSearch: env.Int("SEARCH_HNSW_EF", 128)},
		},
	}
	c.Processing = processingsvc.Config{
		Concurrency: env.Int("PROCESSING_CONCURRENCY", 4),
		AckWait:     env.Duration("PROCESSING_ACK_WAIT", 30*time.Second),
		MaxAttempts: env.Int("PROCESSING_MAX_ATTEMPTS", 5),
		JobTimeout:  env.Duration("PROCESSING_JOB_TIMEOUT", 5*time.Minute),
		ResourceURL: c.Upstreams["resource"],
		Extraction: extract.Limits{
			CPU:     env.Duration("PROCESSING_EXTRACT_CPU", 20*time.Second),
			Memory:  int64(env.Int("PROCESSING_EXTRACT_MEMORY_BYTES", 512<<20)),
			Wall:    env.Duration("PROCESSING_EXTRACT_TIMEOUT", 60*time.Second),
			MaxText: int64(env.Int("PROCESSING_EXTRACT_MAX_TEXT_BYTES", 16<<20)),
		},
	}
	c.Embeddings = openaiembed.Config{
		BaseURL:    strings.TrimSuffix(env.String("EMBEDDINGS_URL", ""), "/"),
		APIKey:     env.String("EMBEDDINGS_API_KEY", ""),
		Model:      env.String("EMBEDDINGS_MODEL", ""),
		Dimensions: env.Int("EMBEDDINGS_DIMENSIONS", 0),
	}
	c.DataDir = env.String("LATTICE_DATA_DIR", ".lattice")
	c.Analytics.SigningKeySeed, c.Analytics.TrustedKeys = auditKeySettings(env)
	switch sink := env.String("ANALYTICS_AUDIT_CHECKPOINT_SINK", "jetstream"); sink {
	case "jetstream":
	case "s3":
		if c.S3.Endpoint == "" {
			env.Invalid("ANALYTICS_AUDIT_CHECKPOINT_SINK", errors.New("s3 needs S3_ENDPOINT (and S3_ACCESS_KEY, S3_SECRET_KEY)"))
		}
		c.Analytics.CheckpointS3 = s3blob.CheckpointConfig{Config: c.S3,
			Retain: env.Duration("ANALYTICS_AUDIT_CHECKPOINT_RETAIN", 10*365*24*time.Hour)}
		c.Analytics.CheckpointS3.Bucket = env.String("ANALYTICS_AUDIT_CHECKPOINT_BUCKET", "lattice-audit-checkpoints")
	default:
		env.Invalid("ANALYTICS_AUDIT_CHECKPOINT_SINK", fmt.Errorf("%q: want jetstream or s3", sink))
	}
	return c, env.Err()
}

// readListeners reads every target's listeners (<NAME>_ADDR, <NAME>_ADMIN_ADDR,
// the trusted proxies) and the URLs the gateway reaches the others at
// (<NAME>_URL), with defaults from the registry's ports.
func readListeners(env *config.Env, maxBody int64) (map[string]httpserver.Config, map[string]string) {
	services := proxies(env, "TRUSTED_PROXIES", clientaddr.Loopback)
	gateway := proxies(env, "GATEWAY_TRUSTED_PROXIES", "none")
	http, upstreams := map[string]httpserver.Config{}, map[string]string{}
	for _, t := range registry {
		upper := strings.ToUpper(t.name)
		h := httpserver.Config{Addr: env.String(upper+"_ADDR", fmt.Sprintf("127.0.0.1:%d", t.port)),
			AdminAddr: env.String(upper+"_ADMIN_ADDR", fmt.Sprintf("127.0.0.1:%d", t.port+1000)), MaxBodyBytes: maxBody,
			TrustedProxies: services}
		if h.AdminAddr == "off" {
			h.AdminAddr = ""
		}
		if t.name == "gateway" {
			h.TrustedProxies = gateway
		} else {
			upstreams[t.name] = strings.TrimSuffix(env.String(upper+"_URL", fmt.Sprintf("http://127.0.0.1:%d", t.port)), "/")
		}
		http[t.name] = h
	}
	return http, upstreams
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
		return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
	}
	for _, name := range services {
		if name == "gateway" {
			if v, ok := lookup("AUTH_ISSUER"); !ok || v == "" {
				c.Auth.Issuer = url(name)
			}
			continue
		}
		if v, ok := lookup(strings.ToUpper(name) + "_URL"); !ok || v == "" {
			c.Upstreams[name] = url(name)
		}
	}
	c.AuthURL = c.Upstreams["auth"]
	c.Analytics.ResourceURL, c.Processing.ResourceURL = c.Upstreams["resource"], c.Upstreams["resource"]
}

// proxies reads a list of trusted proxies.
func proxies(env *config.Env, key, def string) *clientaddr.Proxies {
	p, err := clientaddr.Parse(env.String(key, def))
	if err != nil {
		env.Invalid(key, err)
	}
	return p
}

// trustNoProxyUnlessSet drops the all-in-one default (trust the local
// gateway) when this process does not run the gateway: a service deployed
// apart believes forwarding headers only from the proxies it is told of.
func (c *Config) trustNoProxyUnlessSet(services []string, lookup func(string) (string, bool)) {
	if slices.Contains(services, "gateway") {
		return
	}
	if v, ok := lookup("TRUSTED_PROXIES"); ok && v != "" {
		return
	}
	for name, h := range c.HTTP {
		if name != "gateway" {
			h.TrustedProxies = nil
			c.HTTP[name] = h
		}
	}
}
