// Package resourcesvc wires the resource service: it creates and migrates
// its MySQL-protocol database, builds the use cases on the MySQL adapters
// and the HTTP handler, and runs the outbox relay and clean-up in the
// background.
package resourcesvc

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/fsblob"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/resourcestore"
	"github.com/lattice-platform/lattice/pkg/outbox"
	"github.com/lattice-platform/lattice/pkg/platform/health"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/eventsapi"
	"github.com/lattice-platform/lattice/services/resource/httpapi"
	schema "github.com/lattice-platform/lattice/sql"
)

// Name is the service's name in logs, metrics and traces.
const Name = "resource"

// Config is the resource service's configuration.
type Config struct {
	DatabaseURL string                // go-sql-driver DSN; the database is created if missing
	Verifier    ports.TokenVerifier   // checks bearer credentials (pkg/adapters/tokenverify)
	Publisher   ports.EventPublisher  // the event bus; nil leaves events in the outbox
	Subscriber  ports.EventSubscriber // events from other services (file.rejected); nil: none
	Blobs       ports.BlobStore       // file contents; nil means a temporary directory, removed by Close
	MaxFileSize int64                 // upload limit; 0: app.DefaultMaxFileSize
	PurgeAfter  time.Duration         // grace period before deleted data is purged; default 24h
	Clock       ports.Clock           // nil means the system clock
}

// Service is a wired resource service.
type Service struct {
	App    *app.Service
	HTTP   httpserver.Service
	Outbox *resourcestore.OutboxStore
	Relay  *outbox.Relay // nil without a publisher
	db     *sql.DB
	cfg    Config
	idem   *resourcestore.IdempotencyStore
	events *eventsapi.Handler
	log    *slog.Logger
	// scratch is the temporary blob directory New made when Config.Blobs
	// was nil; Close removes it.
	scratch string
}

// Migrate creates the database if needed and applies pending migrations.
func Migrate(ctx context.Context, dsn string) error {
	if err := mysql.EnsureDatabase(ctx, dsn); err != nil {
		return err
	}
	return mysql.Migrate(dsn, schema.Resource, "resource/migrations")
}

// New connects, migrates and builds the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if err := Migrate(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	db, err := mysql.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	clock := cfg.Clock
	if clock == nil {
		clock = ports.SystemClock{}
	}
	if cfg.PurgeAfter == 0 {
		cfg.PurgeAfter = 24 * time.Hour
	}
	var scratch string
	if cfg.Blobs == nil {
		if scratch, err = os.MkdirTemp("", "lattice-blobs-"); err != nil {
			db.Close()
			return nil, err
		}
		if cfg.Blobs, err = fsblob.New(scratch); err != nil {
			db.Close()
			_ = os.RemoveAll(scratch)
			return nil, err
		}
	}
	s := &Service{db: db, Outbox: resourcestore.NewOutboxStore(db), idem: resourcestore.NewIdempotencyStore(db), log: log, cfg: cfg, scratch: scratch}
	repo := resourcestore.NewResourceRepository(db)
	deps := app.Deps{Resources: repo, Files: repo, Purger: repo, Idem: s.idem, Imports: repo, Blobs: cfg.Blobs, Clock: clock, MaxFileSize: cfg.MaxFileSize,
		Tx: mysql.NewTransactor(db), Outbox: s.Outbox}
	if cfg.Publisher != nil {
		s.Relay = outbox.New(s.Outbox, cfg.Publisher, log)
		deps.EventsWritten = s.Relay.Notify
	}
	s.App = app.New(deps)
	s.events = eventsapi.New(s.App, log)
	api, err := httpapi.Handler(s.App, cfg.Verifier)
	if err != nil {
		db.Close()
		return nil, err
	}
	metrics := observe.NewMetrics(Name)
	metrics.Registry.MustRegister(outbox.NewBacklogMetrics(Name, s.Outbox, log))
	s.HTTP = httpserver.Service{
		Name: Name, API: api, Checks: health.Checks{"mysql": mysql.Ping(db)},
		Metrics: metrics, Logger: log,
		BodyLimit: func(r *http.Request) int64 {
			if httpapi.IsUpload(r) {
				return s.App.MaxFileSize() + 64<<10 // room for multipart framing
			}
			return 0
		},
	}
	return s, nil
}

// Run does the background work until ctx ends: relaying the outbox,
// purging deletions past their grace period, and deleting expired
// idempotency records and outbox rows published more than a day ago.
func (s *Service) Run(ctx context.Context) {
	if s.Relay != nil {
		done := make(chan struct{})
		go func() { defer close(done); s.Relay.Run(ctx) }()
		defer func() { <-done }()
	}
	if s.cfg.Subscriber != nil {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := s.cfg.Subscriber.Subscribe(ctx, "resource-file-rejected", []string{"events.file.rejected"}, s.events.FileRejected); err != nil {
				s.log.ErrorContext(ctx, "file.rejected consumer stopped", "error", err)
			}
		}()
		defer func() { <-done }()
	}
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		now := time.Now()
		if files, resources, err := s.App.Purge(ctx, s.cfg.PurgeAfter); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "purge deleted data", "error", err)
		} else if files+resources > 0 {
			s.log.InfoContext(ctx, "purged deleted data", "files", files, "resources", resources)
		}
		if _, err := s.idem.DeleteExpired(ctx, now); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "delete expired idempotency keys", "error", err)
		}
		if _, err := s.Outbox.DeleteSent(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "delete published outbox rows", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DB is the service's database handle, for operational tooling and
// benchmarks that seed data.
func (s *Service) DB() *sql.DB { return s.db }

// Close releases the database, and removes the temporary blob directory
// New made when none was configured.
func (s *Service) Close() {
	_ = s.db.Close()
	if s.scratch != "" {
		_ = os.RemoveAll(s.scratch)
	}
}
