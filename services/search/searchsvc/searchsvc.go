// Package searchsvc wires the search service: its MySQL-protocol store
// (created and migrated on start), the in-process bleve and vector
// indexes loaded from it, the EVENTS consumer that keeps them current, and
// the HTTP API.
package searchsvc

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lattice-platform/lattice/pkg/adapters/bleveindex"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/searchstore"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/vecindex"
	"github.com/lattice-platform/lattice/pkg/platform/health"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/eventsapi"
	"github.com/lattice-platform/lattice/services/search/httpapi"
	schema "github.com/lattice-platform/lattice/sql"
)

// Name is the service's name in logs, metrics and traces.
const Name = "search"

// Config is the search service's configuration.
type Config struct {
	DatabaseURL string // go-sql-driver DSN; the database is created if missing
	Verifier    ports.TokenVerifier
	JetStream   jetstream.JetStream
	Subscriber  ports.EventSubscriber
	Embedder    ports.Embedder
	IndexDir    string // where the full-text index lives (rebuilt on start)
	// Busy reports whether the process's requests hold its background
	// work back (priority.Gate.Busy); the full-text index then analyses a
	// batch on one core. Nil: never.
	Busy func() bool
	// Consumer names the durable EVENTS consumer. Each replica keeps its
	// own indexes, so each needs its own name (default "search-indexer").
	Consumer string
	Window   int
	// Vectors tunes the vector index (HNSW above a size; exact below).
	Vectors vecindex.Config
}

// Service is a wired search service.
type Service struct {
	App    *app.Service
	HTTP   httpserver.Service
	db     *sql.DB
	text   *bleveindex.Index
	events *eventsapi.Handler
	cfg    Config
	log    *slog.Logger
}

// Migrate creates the database if needed and applies pending migrations.
func Migrate(ctx context.Context, dsn string) error {
	if err := mysql.EnsureDatabase(ctx, dsn); err != nil {
		return err
	}
	return mysql.Migrate(dsn, schema.Search, "search/migrations")
}

// New connects, migrates, loads the indexes from the store and builds the
// service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.Consumer == "" {
		cfg.Consumer = "search-indexer"
	}
	if err := Migrate(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	db, err := mysql.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	s := &Service{db: db, cfg: cfg, log: log}
	if s.text, err = bleveindex.New(filepath.Join(cfg.IndexDir, "fulltext"), cfg.Busy); err != nil {
		db.Close()
		return nil, err
	}
	obs, err := natsjs.OpenChunkBucket(ctx, cfg.JetStream)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.App = app.New(app.Deps{Store: searchstore.NewSearchStore(db), Text: s.text, Vectors: vecindex.New(cfg.Vectors), Embedder: cfg.Embedder,
		Audit: natsjs.NewAuditTrail(natsjs.NewPublisher(cfg.JetStream, 5*time.Second), Name)},
		app.Options{Window: cfg.Window})
	s.events = eventsapi.New(s.App, natsjs.NewChunkSets(obs), log)
	began := time.Now()
	if err := s.App.Load(ctx); err != nil {
		s.Close()
		return nil, err
	}
	// The start's one slow step, which readiness waits for: logged so an
	// operator can see what a restart costs.
	chunks, _ := s.text.Count()
	log.InfoContext(ctx, "indexes loaded from the store", "chunks", chunks, "took_ms", time.Since(began).Milliseconds())
	metrics := observe.NewMetrics(Name)
	api, err := httpapi.Handler(s.App, cfg.Verifier, s.lag, metrics.Registry)
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := natsjs.RegisterLag(metrics.Registry, cfg.JetStream, natsjs.EventsStream, cfg.Consumer); err != nil {
		s.Close()
		return nil, err
	}
	s.HTTP = httpserver.Service{Name: Name, API: api, Metrics: metrics, Logger: log,
		Checks: health.Checks{"mysql": mysql.Ping(db), "nats": natsjs.Ping(cfg.JetStream)}}
	return s, nil
}

func (s *Service) lag(ctx context.Context) (string, int64) {
	n, err := natsjs.ConsumerPending(ctx, s.cfg.JetStream, natsjs.EventsStream, s.cfg.Consumer)
	if err != nil {
		return s.cfg.Consumer, -1
	}
	return s.cfg.Consumer, int64(n)
}

// eventsPerGroup bounds the events handed to the indexer at once. A
// backlog is applied in groups of this many, one full-text batch each
// (bounded by chunks too, eventsapi.HandleGroup), instead of a batch per
// event; a lone event still goes alone and at once.
const eventsPerGroup = 100

// Run applies events until ctx ends.
func (s *Service) Run(ctx context.Context) {
	if err := s.cfg.Subscriber.SubscribeGroups(ctx, s.cfg.Consumer, eventsapi.Subjects, eventsPerGroup, s.events.HandleGroup); err != nil {
		s.log.ErrorContext(ctx, "search indexer stopped", "error", err)
	}
}

// Apply applies one event; it is exported for tests that deliver events
// directly.
func (s *Service) Apply(ctx context.Context, e ports.Event) error { return s.events.Handle(ctx, e) }

// DB is the service's database handle, for tooling and benchmarks.
func (s *Service) DB() *sql.DB { return s.db }

// Close releases the index and the database.
func (s *Service) Close() {
	if s.text != nil {
		_ = s.text.Close()
	}
	_ = s.db.Close()
}
