// Package analyticssvc wires the analytics service on ClickHouse when one
// is configured, or PostgreSQL (either created and migrated on start): the USAGE and AUDIT consumers, checkpoint
// signing and retention in the background, and the HTTP API.
package analyticssvc

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lattice-platform/lattice/pkg/adapters/clickhouse"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	natssink "github.com/lattice-platform/lattice/pkg/adapters/natsjs/checkpointsink"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/analyticsstore"
	"github.com/lattice-platform/lattice/pkg/adapters/resourceapi"
	s3sink "github.com/lattice-platform/lattice/pkg/adapters/s3blob/checkpointsink"
	"github.com/lattice-platform/lattice/pkg/platform/health"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
	"github.com/lattice-platform/lattice/services/analytics/eventsapi"
	"github.com/lattice-platform/lattice/services/analytics/httpapi"
	schema "github.com/lattice-platform/lattice/sql"
)

// Name is the service's name in logs, metrics and traces.
const Name = "analytics"

// The durable consumers.
const (
	UsageConsumer = "analytics-usage"
	AuditConsumer = "analytics-audit"
)

// Config is the analytics service's configuration.
type Config struct {
	DatabaseURL   string // PostgreSQL; the database is created if missing
	ClickHouseURL string // ClickHouse over HTTP; when set, it is the store and DatabaseURL is unused
	Verifier      ports.TokenVerifier
	ResourceURL   string // the resource service, asked what a caller may read
	// Transport is the base of the calls to it (TLS and the client
	// certificate, when configured); nil: the default.
	Transport *http.Transport
	JetStream jetstream.JetStream
	// Subscriber delivers the USAGE and AUDIT streams in batches; nil
	// subscribes through JetStream.
	Subscriber ports.EventSubscriber
	// SigningKeySeed is the 32-byte Ed25519 seed that signs checkpoints
	// (required: it comes from configuration, never from the audited
	// store); TrustedKeys are earlier signing keys' public keys that
	// verification still believes.
	SigningKeySeed []byte
	TrustedKeys    []ed25519.PublicKey
	// CheckpointS3, when its endpoint is set, keeps exported checkpoints
	// in an S3 bucket (Object Lock) instead of the AUDIT_CHECKPOINTS
	// JetStream stream.
	CheckpointS3    s3sink.Config
	RawRetention    time.Duration // default 7 days
	RollupRetention time.Duration // default 400 days
	CheckpointEvery time.Duration // default 1 minute
	BatchSize       int           // usage records per ingest (default 5,000)
}

// Service is a wired analytics service.
type Service struct {
	App    *app.Service
	HTTP   httpserver.Service
	events *eventsapi.Handler
	close  func()
	cfg    Config
	log    *slog.Logger
}

// Migrate creates the store (ClickHouse when configured, else the
// PostgreSQL database) if needed and applies pending migrations.
func Migrate(ctx context.Context, cfg Config) error {
	st, err := openStores(ctx, cfg)
	if err != nil {
		return err
	}
	st.close()
	return nil
}

// New connects, migrates and builds the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.Subscriber == nil {
		cfg.Subscriber = natsjs.NewSubscriber(cfg.JetStream, log)
	}
	if cfg.RawRetention == 0 {
		cfg.RawRetention = 7 * 24 * time.Hour
	}
	if cfg.RollupRetention == 0 {
		cfg.RollupRetention = 400 * 24 * time.Hour
	}
	if cfg.CheckpointEvery == 0 {
		cfg.CheckpointEvery = time.Minute
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 5000
	}
	st, err := openStores(ctx, cfg)
	if err != nil {
		return nil, err
	}
	keyID, key, pubs, err := app.AuditKeys(cfg.SigningKeySeed, cfg.TrustedKeys)
	if err != nil {
		st.close()
		return nil, err
	}
	// Recorded for operators to see which keys signed; never read back
	// for trust.
	if err := st.keys.AddAuditKey(ctx, domain.AuditKey{ID: keyID, Public: pubs[keyID]}); err != nil {
		st.close()
		return nil, err
	}
	sink, err := checkpointSink(ctx, cfg)
	if err != nil {
		st.close()
		return nil, err
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	if cfg.Transport != nil {
		plain.Transport = cfg.Transport
	}
	resources, err := resourceapi.New(cfg.ResourceURL, plain, plain)
	if err != nil {
		st.close()
		return nil, err
	}
	svc := app.New(app.Deps{Usage: st.usage, Audit: st.audit, Access: resources, SigningKey: key, KeyID: keyID, VerifyKeys: pubs,
		Sink: sink, CheckpointEvery: cfg.CheckpointEvery})
	api, err := httpapi.Handler(svc, cfg.Verifier)
	if err != nil {
		st.close()
		return nil, err
	}
	metrics := observe.NewMetrics(Name)
	for stream, durable := range map[string]string{"USAGE": UsageConsumer, "AUDIT": AuditConsumer} {
		if err := natsjs.RegisterLag(metrics.Registry, cfg.JetStream, stream, durable); err != nil {
			st.close()
			return nil, err
		}
	}
	st.checks["nats"] = natsjs.Ping(cfg.JetStream)
	return &Service{App: svc, events: eventsapi.New(svc, log), close: st.close, cfg: cfg, log: log,
		HTTP: httpserver.Service{Name: Name, API: api, Metrics: metrics, Logger: log,
			Checks: st.checks}}, nil
}

// checkpointSink opens the append-only home of exported checkpoints.
func checkpointSink(ctx context.Context, cfg Config) (app.CheckpointSink, error) {
	if cfg.CheckpointS3.Endpoint != "" {
		return s3sink.New(ctx, cfg.CheckpointS3)
	}
	return natssink.New(ctx, cfg.JetStream)
}

// Run consumes usage and audit events, signs checkpoints and applies
// retention until ctx ends.
func (s *Service) Run(ctx context.Context) {
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		_ = s.cfg.Subscriber.SubscribeBatches(ctx, UsageConsumer, []string{"usage.>"}, s.cfg.BatchSize, time.Second, s.events.Usage)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		_ = s.cfg.Subscriber.SubscribeBatches(ctx, AuditConsumer, []string{"audit.>"}, 500, time.Second, s.events.Audit)
	}()
	defer func() { <-done; <-done }()
	checkpoints := time.NewTicker(s.cfg.CheckpointEvery)
	defer checkpoints.Stop()
	retention := time.NewTicker(time.Hour)
	defer retention.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-checkpoints.C:
			if _, err := s.App.Checkpoint(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "audit checkpoint", "error", err)
			}
		case now := <-retention.C:
			raw, rollups, err := s.App.Expire(ctx, now.Add(-s.cfg.RawRetention), now.Add(-s.cfg.RollupRetention))
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "usage retention", "error", err)
			} else if raw+rollups > 0 {
				s.log.InfoContext(ctx, "usage retention", "raw_deleted", raw, "rollups_deleted", rollups)
			}
		}
	}
}

// Close releases the database.
func (s *Service) Close() { s.close() }

// stores are the analytics store's adapters on one database.
type stores struct {
	usage  app.UsageStore
	audit  app.AuditLog
	keys   app.AuditKeyStore
	checks health.Checks
	close  func()
}

// openStores opens, creates and migrates ClickHouse when configured,
// PostgreSQL otherwise.
func openStores(ctx context.Context, cfg Config) (stores, error) {
	if cfg.ClickHouseURL != "" {
		c, err := clickhouse.New(cfg.ClickHouseURL)
		if err != nil {
			return stores{}, err
		}
		if err := c.Migrate(ctx, schema.ClickHouse, "clickhouse/analytics"); err != nil {
			return stores{}, err
		}
		audit := clickhouse.NewAuditLog(c)
		return stores{usage: clickhouse.NewUsageStore(c), audit: audit, keys: audit,
			checks: health.Checks{"clickhouse": c.Ping}, close: func() {}}, nil
	}
	if err := postgres.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return stores{}, err
	}
	pool, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return stores{}, err
	}
	if err := postgres.Migrate(pool, schema.Analytics, "analytics/migrations"); err != nil {
		pool.Close()
		return stores{}, err
	}
	audit := analyticsstore.NewAuditLog(pool)
	return stores{usage: analyticsstore.NewUsageStore(pool), audit: audit, keys: audit,
		checks: health.Checks{"postgres": postgres.Ping(pool)}, close: pool.Close}, nil
}
