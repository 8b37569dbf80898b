// Package analyticssvc wires the analytics service on ClickHouse when one
// is configured, or PostgreSQL (either created and migrated on start): the USAGE and AUDIT consumers, checkpoint
// signing and retention in the background, and the HTTP API.
package analyticssvc

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

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
	// VerifyEvery is how often the audit log's new entries are verified in
	// the background, for lattice_audit_verification_ok (default 10
	// minutes).
	VerifyEvery time.Duration
}

// Service is a wired analytics service.
type Service struct {
	App     *app.Service
	HTTP    httpserver.Service
	events  *eventsapi.Handler
	close   func()
	cfg     Config
	log     *slog.Logger
	metrics serviceMetrics
	// verifiedTo is where the background audit verification got to: each
	// round checks from there to the head.
	verifying  sync.Mutex
	verifiedTo int64
}

// serviceMetrics are the analytics service's own instruments.
type serviceMetrics struct {
	ingestLag     *prometheus.GaugeVec
	verifiedOK    prometheus.Gauge
	verifiedAt    prometheus.Gauge
	verifications *prometheus.CounterVec
}

func newServiceMetrics(reg prometheus.Registerer) (serviceMetrics, error) {
	m := serviceMetrics{
		ingestLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lattice_analytics_ingest_lag_seconds",
			Help: "Age of the oldest event in the last batch stored, by stream (USAGE, AUDIT): how far ingestion trails the events."},
			[]string{"stream"}),
		verifiedOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lattice_audit_verification_ok",
			Help: "1 when the last background verification of the audit log found the chain and checkpoints intact, 0 when it found a break."}),
		verifiedAt: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lattice_audit_verification_timestamp_seconds",
			Help: "When the audit log was last verified in the background (Unix time; 0: not yet)."}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lattice_audit_verifications_total",
			Help: "Background audit verifications by result: ok, broken, or error (could not be run)."}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.ingestLag, m.verifiedOK, m.verifiedAt, m.verifications} {
		if err := reg.Register(c); err != nil {
			return serviceMetrics{}, err
		}
	}
	m.verifiedOK.Set(1) // nothing found broken yet
	return m, nil
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
	own, err := newServiceMetrics(metrics.Registry)
	if err != nil {
		st.close()
		return nil, err
	}
	events := eventsapi.New(svc, log)
	events.IngestChunk = cfg.BatchSize
	events.Ingested = func(stream string, oldest time.Time) {
		own.ingestLag.WithLabelValues(stream).Set(max(0, time.Since(oldest).Seconds()))
	}
	return &Service{App: svc, events: events, close: st.close, cfg: cfg, log: log, metrics: own, verifiedTo: 1,
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

// usageMessagesPerFetch bounds one fetch from USAGE. The gateway packs up
// to 100 records (64 KiB) in a message (gateway.requests), so a fetch
// holds at most 32 MiB and is stored BatchSize records an insert.
const usageMessagesPerFetch = 500

// Run consumes usage and audit events, signs checkpoints and applies
// retention until ctx ends.
func (s *Service) Run(ctx context.Context) {
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		_ = s.cfg.Subscriber.SubscribeBatches(ctx, UsageConsumer, []string{"usage.>"}, usageMessagesPerFetch, time.Second, s.events.Usage)
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
	verify := time.NewTicker(cmp.Or(s.cfg.VerifyEvery, 10*time.Minute))
	defer verify.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-verify.C:
			s.VerifyAudit(ctx)
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

// auditor is the caller background verification acts as.
var auditor = domain.Caller{Subject: "system:analytics", Scopes: []string{domain.ScopeAudit}}

// VerifyAudit checks the audit log from where the last round stopped to
// its head (the chain carries the hash across rounds, and every round
// checks the head against the signed checkpoints), and records the result
// in the audit verification metrics. A break is logged as an error.
func (s *Service) VerifyAudit(ctx context.Context) {
	s.verifying.Lock()
	defer s.verifying.Unlock()
	v, err := s.App.VerifyAudit(ctx, auditor, s.verifiedTo, 0)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			s.metrics.verifications.WithLabelValues("error").Inc()
			s.log.WarnContext(ctx, "audit verification could not run", "error", err)
		}
		return
	case v.Broken != nil:
		s.metrics.verifications.WithLabelValues("broken").Inc()
		s.metrics.verifiedOK.Set(0)
		s.log.ErrorContext(ctx, "audit log verification found a break", "seq", v.Broken.Seq, "reason", v.Broken.Reason)
	default:
		s.metrics.verifications.WithLabelValues("ok").Inc()
		s.metrics.verifiedOK.Set(1)
		s.verifiedTo = max(s.verifiedTo, v.To)
	}
	s.metrics.verifiedAt.Set(float64(time.Now().Unix()))
}
