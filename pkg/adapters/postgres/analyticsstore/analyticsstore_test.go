package analyticsstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/analyticsstore"
	"github.com/lattice-platform/lattice/pkg/adapters/s3blob"
	"github.com/lattice-platform/lattice/pkg/adapters/s3blob/checkpointsink"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/analytics/analyticstest"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/app/porttest"
	"github.com/lattice-platform/lattice/services/analytics/domain"
	schema "github.com/lattice-platform/lattice/sql"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func setupAnalytics(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.Open(context.Background(), testinfra.Postgres(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, postgres.Migrate(pool, schema.Analytics, "analytics/migrations"))
	return pool
}

func TestAuditLog(t *testing.T) {
	porttest.AuditLog(t, func(t *testing.T) app.AuditLog { return analyticsstore.NewAuditLog(setupAnalytics(t)) })
}

// TestAuditVerifyCatchesTamperingInTheDatabase alters, deletes, inserts
// and reorders rows with SQL, as an intruder with database access would,
// and checks verification names the first broken entry each time.
func TestAuditVerifyCatchesTamperingInTheDatabase(t *testing.T) {
	porttest.AuditTampering(t, map[string]porttest.AuditTamper{
		"altered row":    {Statements: []string{`UPDATE audit_log SET canonical = '{"actor":"mallory"}' WHERE seq = 4`}, At: 4},
		"deleted row":    {Statements: []string{`DELETE FROM audit_log WHERE seq = 6`}, At: 6},
		"inserted row":   {Statements: []string{`UPDATE audit_log SET seq = -(seq + 1) WHERE seq >= 3`, `UPDATE audit_log SET seq = -seq WHERE seq < 0`, `INSERT INTO audit_log SELECT 3, 'forged', now(), 'x', 'y', 'z', '{"forged":true}', hash FROM audit_log WHERE seq = 4`}, At: 3},
		"reordered rows": {Statements: []string{`UPDATE audit_log SET seq = -5 WHERE seq = 5`, `UPDATE audit_log SET seq = 5 WHERE seq = 6`, `UPDATE audit_log SET seq = 6 WHERE seq = -5`}, At: 5},
		"truncated tail": {Statements: []string{`DELETE FROM audit_log WHERE seq > 8`}, At: 10},
	}, func(t *testing.T) (app.AuditLog, func(context.Context, string) error) {
		pool := setupAnalytics(t)
		return analyticsstore.NewAuditLog(pool), func(ctx context.Context, stmt string) error { _, err := pool.Exec(ctx, stmt); return err }
	})
}

func TestUsageStore(t *testing.T) {
	porttest.UsageStore(t, func(t *testing.T) app.UsageStore { return analyticsstore.NewUsageStore(setupAnalytics(t)) })
}

// The analytics store benchmarks (analyticstest) on PostgreSQL.

func setupAnalyticsBench(b *testing.B) *pgxpool.Pool {
	pool, err := postgres.Open(context.Background(), testinfra.Postgres(b))
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	require.NoError(b, postgres.Migrate(pool, schema.Analytics, "analytics/migrations"))
	return pool
}

func BenchmarkUsageIngest(b *testing.B) {
	analyticstest.Ingest(b, analyticsstore.NewUsageStore(setupAnalyticsBench(b)))
}

func BenchmarkAuditVerify(b *testing.B) {
	analyticstest.Verify(b, analyticsstore.NewAuditLog(setupAnalyticsBench(b)))
}

// BenchmarkUsageReports takes a few minutes to ingest its 10,000,000
// records before it measures.
func BenchmarkUsageReports(b *testing.B) {
	analyticstest.Reports(b, analyticsstore.NewUsageStore(setupAnalyticsBench(b)))
}

func TestAuditTrustAnchors(t *testing.T) {
	store := func(t *testing.T) analyticstest.Store {
		pool := setupAnalytics(t)
		log := analyticsstore.NewAuditLog(pool)
		return analyticstest.Store{Log: log, Keys: log,
			Exec: func(ctx context.Context, stmt string) error { _, err := pool.Exec(ctx, stmt); return err },
			RewriteEntry: func(seq int64, canonical []byte, hash domain.Hash) string {
				return fmt.Sprintf(`UPDATE audit_log SET canonical = decode('%x', 'hex'), hash = decode('%x', 'hex') WHERE seq = %d`, canonical, hash[:], seq)
			},
			DeleteCheckpoints: `DELETE FROM audit_checkpoints`,
			DeleteKeys:        `DELETE FROM audit_signing_keys`,
		}
	}
	t.Run("JetStream sink", func(t *testing.T) { analyticstest.Tampering(t, store, analyticstest.NATSSink) })
	t.Run("S3 sink", func(t *testing.T) {
		analyticstest.Tampering(t, store, func(t *testing.T) app.CheckpointSink {
			srv := testinfra.S3Server(t)
			s, err := checkpointsink.New(context.Background(), checkpointsink.Config{Config: s3blob.Config{
				Endpoint: srv.Endpoint, Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}})
			require.NoError(t, err)
			return s
		})
	})
}
