// Package authsvc wires the auth service: it opens and migrates its
// PostgreSQL database, picks the session store (Redis when configured,
// PostgreSQL otherwise), builds the use cases and the HTTP handler.
package authsvc

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/lattice-platform/lattice/pkg/adapters/argon2id"
	"github.com/lattice-platform/lattice/pkg/adapters/jose"
	"github.com/lattice-platform/lattice/pkg/adapters/legacyhash"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore"
	"github.com/lattice-platform/lattice/pkg/adapters/redis"
	"github.com/lattice-platform/lattice/pkg/adapters/redis/sessionstore"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenverify"
	"github.com/lattice-platform/lattice/pkg/outbox"
	"github.com/lattice-platform/lattice/pkg/platform/health"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/httpapi"
	schema "github.com/lattice-platform/lattice/sql"
)

// Name is the service's name in logs, metrics and traces.
const Name = "auth"

// Config is the auth service's configuration.
type Config struct {
	DatabaseURL string          // PostgreSQL URL; the database is created if missing
	RedisURL    string          // optional; sessions go to Redis when set
	RedisTLSCA  string          // the CA a rediss:// RedisURL is verified against; "": system roots
	Issuer      string          // public base URL: token "iss" and discovery
	Audience    string          // access tokens' "aud"
	SessionTTL  time.Duration   // lifetime of a login session
	AccessTTL   time.Duration   // lifetime of an access token
	RefreshTTL  time.Duration   // lifetime of a refresh token
	KeyRotation time.Duration   // signing-key rotation period
	KeyEncKey   []byte          // optional 32-byte key sealing signing keys at rest
	Argon2      argon2id.Params // password hashing cost
	// HashConcurrency bounds password hashes running at once (each holds
	// Argon2.MemoryKiB); 0 sizes it from available memory and CPUs
	// (argon2id.Slots). HashWait is how long a hash queues for a slot
	// before the request gets 503 (0: argon2id.DefaultWait).
	HashConcurrency int
	HashWait        time.Duration
	Clock           ports.Clock // nil means the system clock
	// Publisher is the event bus the outbox relay publishes audit events
	// to; nil leaves them in the outbox until a relay with one runs.
	Publisher ports.EventPublisher
	// LegacySessions checks the replaced system's session tokens for the
	// token exchange of a migration (LegacySessionsFrom); nil: the grant is
	// not offered.
	LegacySessions app.LegacySessionVerifier
}

// Service is a wired auth service.
type Service struct {
	App      *app.Service
	HTTP     httpserver.Service
	pool     *pgxpool.Pool
	rdb      *goredis.Client
	sessions *authstore.SessionStore // nil when sessions live in Redis
	grants   *authstore.GrantStore
	throttle *authstore.LoginThrottle
	outbox   *authstore.Outbox
	log      *slog.Logger
	// Relay publishes the outbox; nil without a publisher.
	Relay *outbox.Relay
}

// Migrate creates the database if needed and applies pending migrations.
func Migrate(ctx context.Context, dsn string) error {
	if err := postgres.EnsureDatabase(ctx, dsn); err != nil {
		return err
	}
	pool, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	return postgres.Migrate(pool, schema.Auth, "auth/migrations")
}

// New connects to the stores, applies migrations and builds the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.Audience == "" {
		cfg.Audience = "lattice"
	}
	if err := Migrate(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	pool, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	s := &Service{pool: pool, log: log}
	checks := health.Checks{"postgres": postgres.Ping(pool)}
	var sessions app.SessionStore
	if cfg.RedisURL != "" {
		opts, err := redis.Options(cfg.RedisURL, cfg.RedisTLSCA)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("auth: %w", err)
		}
		s.rdb = goredis.NewClient(opts)
		sessions = sessionstore.New(s.rdb, "lattice:auth:")
		checks["redis"] = redis.Ping(s.rdb)
	} else {
		s.sessions = authstore.NewSessionStore(pool)
		sessions = s.sessions
	}
	clock := cfg.Clock
	if clock == nil {
		clock = ports.SystemClock{}
	}
	keys, err := authstore.NewSigningKeyStore(pool, cfg.KeyEncKey)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.grants = authstore.NewGrantStore(pool)
	s.throttle = authstore.NewLoginThrottle(pool)
	s.outbox = authstore.NewOutbox(pool)
	var written func()
	if cfg.Publisher != nil {
		s.Relay = outbox.New(s.outbox, cfg.Publisher, log)
		written = s.Relay.Notify
	}
	opts := app.Options{Issuer: cfg.Issuer, Audience: cfg.Audience, SessionTTL: cfg.SessionTTL,
		AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL, KeyRotation: cfg.KeyRotation}
	s.App, err = app.New(app.Deps{
		Users:    authstore.NewUserRepository(pool),
		Sessions: sessions,
		Throttle: s.throttle,
		// Users migrated from another system keep their hashes until their
		// next login replaces them (legacyhash).
		Hasher:         legacyhash.Hasher{Current: argon2id.NewLimited(cfg.Argon2, cfg.HashConcurrency, cfg.HashWait)},
		Clients:        authstore.NewClientRepository(pool),
		Grants:         s.grants,
		Keys:           keys,
		Signer:         jose.NewSigner(),
		APIKeys:        authstore.NewAPIKeyRepository(pool),
		LegacyIDs:      authstore.NewLegacyIDs(pool),
		LegacySessions: cfg.LegacySessions,
		Verifier: tokenverify.New(tokenverify.Config{
			Issuer: cfg.Issuer, Audience: cfg.Audience, Fetch: StoreKeys(keys, clock.Now),
			// The keys are local, so an unknown kid may be looked up at once.
			MinRefetch: time.Millisecond, Now: clock.Now,
		}),
		Clock:         clock,
		Tx:            postgres.NewTransactor(pool),
		Outbox:        s.outbox,
		EventsWritten: written,
	}, opts)
	if err != nil {
		s.Close()
		return nil, err
	}
	api, err := httpapi.Handler(s.App, cfg.Issuer)
	if err != nil {
		s.Close()
		return nil, err
	}
	metrics := observe.NewMetrics(Name)
	metrics.Registry.MustRegister(outbox.NewBacklogMetrics(Name, s.outbox, log))
	s.HTTP = httpserver.Service{Name: Name, API: api, Checks: checks, Metrics: metrics, Logger: log}
	return s, nil
}

// Run does the service's background work until ctx ends: rotating the
// signing key when it is due, and deleting expired sessions (Redis expires
// its own), codes and refresh tokens.
func (s *Service) Run(ctx context.Context) {
	if s.Relay != nil {
		done := make(chan struct{})
		go func() { defer close(done); s.Relay.Run(ctx) }()
		defer func() { <-done }()
	}
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if rotated, err := s.App.MaybeRotateKeys(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "rotate signing key", "error", err)
		} else if rotated {
			s.log.InfoContext(ctx, "rotated the signing key")
		}
		now := time.Now()
		if s.sessions != nil {
			if n, err := s.sessions.DeleteExpired(ctx, now); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "delete expired sessions", "error", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "deleted expired sessions", "count", n)
			}
		}
		if err := s.grants.DeleteExpired(ctx, now); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "delete expired grants", "error", err)
		}
		// Counts past every throttle window mean nothing any more.
		if _, err := s.throttle.Purge(ctx, now.Add(-time.Hour)); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "purge login throttle", "error", err)
		}
		if _, err := s.outbox.DeleteSent(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "delete published outbox rows", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close releases the connections.
func (s *Service) Close() {
	if s.rdb != nil {
		_ = s.rdb.Close()
	}
	s.pool.Close()
}

// StoreKeys returns a tokenverify.KeyFetcher that reads an app.SigningKeyStore
// directly: the auth service verifies its own tokens this way, without an
// HTTP round trip to itself.
func StoreKeys(store app.SigningKeyStore, now func() time.Time) tokenverify.KeyFetcher {
	return func(ctx context.Context) (tokenverify.Keys, error) {
		published, err := store.Published(ctx, now())
		if err != nil {
			return nil, err
		}
		keys := make(tokenverify.Keys, len(published))
		for _, k := range published {
			keys[k.ID] = k.Public()
		}
		return keys, nil
	}
}
