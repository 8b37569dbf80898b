package authsvc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/argon2id"
	"github.com/lattice-platform/lattice/pkg/adapters/legacysession"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/target"
	"github.com/lattice-platform/lattice/services/auth/app"
)

// Target is the auth service as a deployable target.
var Target = target.New(target.Description[Config]{
	Name: Name, Port: 8081, Uses: []target.System{target.PostgreSQL, target.Redis},
	Bus:     natsjs.Grants{Publishes: []string{"audit.auth"}},
	Config:  func(env *config.Env, s target.Settings) Config { return LoadConfig(env, s) },
	Migrate: func(ctx context.Context, c Config) error { return Migrate(ctx, c.DatabaseURL) },
	Build: func(ctx context.Context, c Config, p *target.Platform) (target.Service, error) {
		b, err := p.Bus()
		if err != nil {
			return target.Service{}, err
		}
		// The public URL may be known only now (a gateway on port 0).
		c.Issuer, c.Publisher = p.Settings().Issuer, b.Publisher // audit events, through the outbox
		svc, err := New(ctx, c, p.Logger(Name))
		if err != nil {
			return target.Service{}, err
		}
		// Services deployed apart share a configured service client:
		// auth registers it, so no one-off set-up step is needed.
		if st := p.Settings(); st.ServiceClientID != "" {
			if err := svc.App.EnsureServiceClient(ctx, st.ServiceClientID, st.ServiceClientSecret); err != nil {
				svc.Close()
				return target.Service{}, fmt.Errorf("register the service client %s: %w", st.ServiceClientID, err)
			}
		}
		p.ProvideServiceClient(func(ctx context.Context) (string, string, error) {
			secret, err := svc.App.ProvisionServiceClient(ctx)
			return app.ServiceClientID, secret, err
		})
		return target.Service{HTTP: svc.HTTP, Run: svc.Run, Close: svc.Close}, nil
	},
})

// LoadConfig reads the auth service's settings from the environment.
func LoadConfig(env *config.Env, s target.Settings) Config {
	return Config{
		DatabaseURL: env.Secret("AUTH_DATABASE_URL", target.DefaultPostgres+"lattice_auth?sslmode=disable"),
		RedisURL:    s.RedisURL,
		RedisTLSCA:  s.RedisTLSCA,
		Issuer:      s.Issuer,
		Audience:    s.Audience,
		SessionTTL:  env.Duration("AUTH_SESSION_TTL", 24*time.Hour),
		AccessTTL:   env.Duration("AUTH_ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTTL:  env.Duration("AUTH_REFRESH_TOKEN_TTL", 30*24*time.Hour),
		KeyRotation: env.Duration("AUTH_KEY_ROTATION", 30*24*time.Hour),
		KeyEncKey:   env.Base64Key("AUTH_KEY_ENCRYPTION_KEY", 32),
		Argon2:      argon2id.OWASP,
		// 0: sized from available memory (argon2id.Slots).
		HashConcurrency: env.Int("AUTH_HASH_CONCURRENCY", 0),
		LegacySessions:  legacySessionsFrom(env),
	}
}

// legacySessionsFrom reads how the replaced system's sessions are checked
// during a migration: its HS256 secret (AUTH_LEGACY_SESSION_SECRET, or
// _FILE), or its RFC 7662 introspection URL
// (AUTH_LEGACY_INTROSPECTION_URL, with an optional bearer token
// AUTH_LEGACY_INTROSPECTION_TOKEN or _FILE). Neither: no token exchange.
func legacySessionsFrom(env *config.Env) app.LegacySessionVerifier {
	secret := env.Secret("AUTH_LEGACY_SESSION_SECRET", "")
	endpoint := env.String("AUTH_LEGACY_INTROSPECTION_URL", "")
	bearer := env.Secret("AUTH_LEGACY_INTROSPECTION_TOKEN", "")
	var v app.LegacySessionVerifier
	var err error
	key := "AUTH_LEGACY_SESSION_SECRET"
	switch {
	case secret != "" && endpoint != "":
		err = errors.New("set it or AUTH_LEGACY_INTROSPECTION_URL, not both")
	case secret != "":
		v, err = legacysession.NewHS256([]byte(secret))
	case endpoint != "":
		key = "AUTH_LEGACY_INTROSPECTION_URL"
		v, err = legacysession.NewIntrospection(endpoint, bearer, nil)
	}
	if err != nil {
		env.Invalid(key, err)
		return nil
	}
	return v
}
