package resourcesvc

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/target"
	"github.com/lattice-platform/lattice/services/resource/app"
)

// Target is the resource service as a deployable target.
var Target = target.New(target.Description[Config]{
	Name: Name, Port: 8082, Needs: []string{"auth"}, Uses: []target.System{target.MySQL, target.S3},
	Bus: natsjs.Grants{
		Publishes: []string{"events.resource.>", "events.file.uploaded", "events.file.deleted", "audit.resource", "dlq.>"},
		Reads:     []string{natsjs.EventsStream}, // events.file.rejected
	},
	Config:  func(env *config.Env, _ target.Settings) Config { return LoadConfig(env) },
	Migrate: func(ctx context.Context, c Config) error { return Migrate(ctx, c.DatabaseURL) },
	Build: func(ctx context.Context, c Config, p *target.Platform) (target.Service, error) {
		v, b, err := p.VerifierAndBus()
		if err != nil {
			return target.Service{}, err
		}
		c.Verifier, c.Publisher, c.Subscriber = v, b.Publisher, b.Subscriber
		if c.Blobs, err = p.Blobs(); err != nil {
			return target.Service{}, err
		}
		svc, err := New(ctx, c, p.Logger(Name))
		if err != nil {
			return target.Service{}, err
		}
		return target.Service{HTTP: svc.HTTP, Run: svc.Run, Close: svc.Close}, nil
	},
})

// LoadConfig reads the resource service's settings from the environment.
func LoadConfig(env *config.Env) Config {
	return Config{
		DatabaseURL: env.Secret("RESOURCE_DATABASE_URL", "root@tcp(127.0.0.1:3306)/lattice_resource"),
		MaxFileSize: int64(env.Int("RESOURCE_MAX_FILE_BYTES", app.DefaultMaxFileSize)),
		PurgeAfter:  env.Duration("RESOURCE_PURGE_AFTER", 24*time.Hour),
	}
}
