package analyticssvc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/checkpointsink"
	s3sink "github.com/lattice-platform/lattice/pkg/adapters/s3blob/checkpointsink"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/target"
)

// Target is the analytics service as a deployable target.
var Target = target.New(target.Description[Config]{
	Name: Name, Port: 8085, Needs: []string{"auth", "resource"}, Uses: []target.System{target.PostgreSQL, target.ClickHouse},
	Bus: natsjs.Grants{
		Publishes: []string{"audit-checkpoints.>", "dlq.>"},
		Reads:     []string{"USAGE", "AUDIT"},
		Owns:      []string{checkpointsink.Stream.Name},
	},
	Config: func(env *config.Env, s target.Settings) Config { return LoadConfig(env, s) },
	// The all-in-one process (with the gateway) may fall back on a key
	// under its data directory; a service deployed on its own may not.
	Check: func(c Config, running []string) error {
		if c.SigningKeySeed == nil && !slices.Contains(running, target.Gateway) {
			return errors.New("analytics: ANALYTICS_AUDIT_SIGNING_KEY or ANALYTICS_AUDIT_SIGNING_KEY_FILE is required: " +
				"the key that signs audit checkpoints must not live in the database it protects")
		}
		return nil
	},
	Migrate: Migrate,
	Build: func(ctx context.Context, c Config, p *target.Platform) (target.Service, error) {
		log := p.Logger(Name)
		if c.SigningKeySeed == nil {
			seed, err := localAuditKey(p.DataDir(), log)
			if err != nil {
				return target.Service{}, err
			}
			c.SigningKeySeed = seed
		}
		v, b, err := p.VerifierAndBus()
		if err != nil {
			return target.Service{}, err
		}
		c.Verifier, c.JetStream, c.Subscriber, c.ResourceURL = v, b.JetStream, b.Subscriber, p.URL("resource")
		if c.Transport, err = p.Transport(); err != nil {
			return target.Service{}, err
		}
		svc, err := New(ctx, c, log)
		if err != nil {
			return target.Service{}, err
		}
		return target.Service{HTTP: svc.HTTP, Run: svc.Run, Close: svc.Close}, nil
	},
})

// LoadConfig reads the analytics service's settings from the environment.
func LoadConfig(env *config.Env, s target.Settings) Config {
	c := Config{
		DatabaseURL:     env.Secret("ANALYTICS_DATABASE_URL", target.DefaultPostgres+"lattice_analytics?sslmode=disable"),
		ClickHouseURL:   env.Secret("ANALYTICS_CLICKHOUSE_URL", ""),
		RawRetention:    env.Duration("ANALYTICS_RAW_RETENTION", 7*24*time.Hour),
		RollupRetention: env.Duration("ANALYTICS_ROLLUP_RETENTION", 400*24*time.Hour),
		CheckpointEvery: env.Duration("ANALYTICS_CHECKPOINT_EVERY", time.Minute),
		VerifyEvery:     env.Duration("ANALYTICS_AUDIT_VERIFY_EVERY", 10*time.Minute),
		ResourceURL:     s.URLs["resource"],
	}
	c.SigningKeySeed, c.TrustedKeys = auditKeySettings(env)
	switch sink := env.String("ANALYTICS_AUDIT_CHECKPOINT_SINK", "jetstream"); sink {
	case "jetstream":
	case "s3":
		if s.S3.Endpoint == "" {
			env.Invalid("ANALYTICS_AUDIT_CHECKPOINT_SINK", errors.New("s3 needs S3_ENDPOINT (and S3_ACCESS_KEY, S3_SECRET_KEY)"))
		}
		c.CheckpointS3 = s3sink.Config{Config: s.S3,
			Retain: env.Duration("ANALYTICS_AUDIT_CHECKPOINT_RETAIN", 10*365*24*time.Hour)}
		c.CheckpointS3.Bucket = env.String("ANALYTICS_AUDIT_CHECKPOINT_BUCKET", "lattice-audit-checkpoints")
	default:
		env.Invalid("ANALYTICS_AUDIT_CHECKPOINT_SINK", fmt.Errorf("%q: want jetstream or s3", sink))
	}
	return c
}
