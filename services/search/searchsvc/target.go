package searchsvc

import (
	"context"
	"path/filepath"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/vecindex"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/target"
)

// Target is the search service as a deployable target.
var Target = target.New(target.Description[Config]{
	Name: Name, Port: 8083, Needs: []string{"auth", "resource"}, Uses: []target.System{target.MySQL, target.Embeddings},
	Bus: natsjs.Grants{
		Publishes: []string{"audit.search", "dlq.>"},
		Reads:     []string{natsjs.EventsStream},
		Owns:      []string{"OBJ_" + natsjs.ChunkBucket}, // opened, created if processing has not yet
	},
	Config:  func(env *config.Env, _ target.Settings) Config { return LoadConfig(env) },
	Migrate: func(ctx context.Context, c Config) error { return Migrate(ctx, c.DatabaseURL) },
	Build: func(ctx context.Context, c Config, p *target.Platform) (target.Service, error) {
		v, b, err := p.VerifierAndBus()
		if err != nil {
			return target.Service{}, err
		}
		c.Verifier, c.JetStream, c.Subscriber, c.Busy = v, b.JetStream, b.Subscriber, b.Gate.Busy
		c.IndexDir = filepath.Join(p.DataDir(), c.Consumer)
		if c.Embedder, err = p.Embedder(); err != nil {
			return target.Service{}, err
		}
		svc, err := New(ctx, c, p.Logger(Name))
		if err != nil {
			return target.Service{}, err
		}
		return target.Service{HTTP: svc.HTTP, Run: svc.Run, Close: svc.Close}, nil
	},
})

// LoadConfig reads the search service's settings from the environment.
func LoadConfig(env *config.Env) Config {
	return Config{
		DatabaseURL: env.Secret("SEARCH_DATABASE_URL", "root@tcp(127.0.0.1:3306)/lattice_search"),
		Consumer:    env.String("SEARCH_CONSUMER", "search-indexer"),
		Window:      env.Int("SEARCH_WINDOW", 200),
		Vectors: vecindex.Config{
			ANNThreshold: env.Int("SEARCH_ANN_THRESHOLD", 150000),
			HNSW:         vecindex.HNSWConfig{EfSearch: env.Int("SEARCH_HNSW_EF", 128)},
		},
	}
}
