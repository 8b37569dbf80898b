package clickhouse_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/clickhouse"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/analytics/analyticstest"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/app/porttest"
	analyticsdomain "github.com/lattice-platform/lattice/services/analytics/domain"
	schema "github.com/lattice-platform/lattice/sql"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

// setup returns a client on a fresh, migrated database.
func setup(t testing.TB) *clickhouse.Client {
	t.Helper()
	c, err := clickhouse.New(testinfra.ClickHouse(t))
	require.NoError(t, err)
	require.NoError(t, c.Migrate(context.Background(), schema.ClickHouse, "clickhouse/analytics"))
	return c
}

func TestUsageStore(t *testing.T) {
	porttest.UsageStore(t, func(t *testing.T) app.UsageStore { return clickhouse.NewUsageStore(setup(t)) })
}

func TestAuditLog(t *testing.T) {
	porttest.AuditLog(t, func(t *testing.T) app.AuditLog { return clickhouse.NewAuditLog(setup(t)) })
}

func TestMigrateTwiceAndPing(t *testing.T) {
	c := setup(t)
	require.NoError(t, c.Migrate(context.Background(), schema.ClickHouse, "clickhouse/analytics"))
	require.NoError(t, c.Ping(context.Background()))
}

func TestNewRefusesBadURLsWithoutEchoingThem(t *testing.T) {
	for _, u := range []string{"postgres://u:hunter2@h/db", "http://u:hunter2@h:8123/bad-name", "::"} {
		_, err := clickhouse.New(u)
		require.Error(t, err, u)
		require.NotContains(t, err.Error(), "hunter2")
	}
}

func TestUnreachableServerIsUnavailable(t *testing.T) {
	c, err := clickhouse.New("http://user:hunter2@127.0.0.1:1/db")
	require.NoError(t, err)
	err = c.Ping(context.Background())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}

// TestAuditVerifyCatchesTamperingInTheDatabase alters, deletes, inserts
// and reorders rows with SQL sent straight to ClickHouse, as an intruder
// with database access would, and checks verification names the first
// broken entry each time. ClickHouse cannot update key columns, so rows
// are reordered by swapping their contents.
func TestAuditVerifyCatchesTamperingInTheDatabase(t *testing.T) {
	porttest.AuditTampering(t, map[string]porttest.AuditTamper{
		"altered row": {Statements: []string{`ALTER TABLE audit_log UPDATE canonical = '{"actor":"mallory"}' WHERE seq = 4`}, At: 4},
		"deleted row": {Statements: []string{`ALTER TABLE audit_log DELETE WHERE seq = 6`}, At: 6},
		"inserted row": {Statements: []string{
			`CREATE TABLE shifted AS audit_log`,
			`INSERT INTO shifted SELECT seq + 1, event_id, occurred_ns, actor, action, target, canonical, hash FROM audit_log WHERE seq >= 3`,
			`INSERT INTO shifted SELECT 3, 'forged', occurred_ns, 'x', 'y', 'z', '{"forged":true}', hash FROM audit_log WHERE seq = 4`,
			`ALTER TABLE audit_log DELETE WHERE seq >= 3`,
			`INSERT INTO audit_log SELECT * FROM shifted`,
		}, At: 3},
		"reordered rows": {Statements: []string{
			`CREATE TABLE swapped AS audit_log`,
			`INSERT INTO swapped SELECT 11 - seq, event_id, occurred_ns, actor, action, target, canonical, hash FROM audit_log WHERE seq IN (5, 6)`,
			`ALTER TABLE audit_log DELETE WHERE seq IN (5, 6)`,
			`INSERT INTO audit_log SELECT * FROM swapped`,
		}, At: 5},
		"truncated tail": {Statements: []string{`ALTER TABLE audit_log DELETE WHERE seq > 8`}, At: 10},
	}, func(t *testing.T) (app.AuditLog, func(context.Context, string) error) {
		db := setup(t)
		return clickhouse.NewAuditLog(db), func(ctx context.Context, stmt string) error { return clickhouse.ExecForTest(ctx, db, stmt) }
	})
}

// The store records the public keys that signed, once each; it is for
// operators to read, and verification never believes it.
func TestAuditKeysAreRecorded(t *testing.T) {
	ctx := context.Background()
	l := clickhouse.NewAuditLog(setup(t))
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	k := analyticsdomain.AuditKey{ID: analyticsdomain.KeyID(pub), Public: pub}
	require.NoError(t, l.AddAuditKey(ctx, k))
	require.NoError(t, l.AddAuditKey(ctx, k))
	keys, err := l.AuditKeys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.Equal(t, k.ID, keys[0].ID)
	require.Equal(t, pub, keys[0].Public)
}

func TestAuditTrustAnchors(t *testing.T) {
	analyticstest.Tampering(t, func(t *testing.T) analyticstest.Store {
		db := setup(t)
		log := clickhouse.NewAuditLog(db)
		return analyticstest.Store{Log: log, Keys: log,
			Exec: func(ctx context.Context, stmt string) error { return clickhouse.ExecForTest(ctx, db, stmt) },
			RewriteEntry: func(seq int64, canonical []byte, hash analyticsdomain.Hash) string {
				return fmt.Sprintf(`ALTER TABLE audit_log UPDATE canonical = %s, hash = '%x' WHERE seq = %d`,
					clickhouse.QuoteForTest(string(canonical)), hash[:], seq)
			},
			DeleteCheckpoints: `ALTER TABLE audit_checkpoints DELETE WHERE 1 = 1`,
			DeleteKeys:        `ALTER TABLE audit_signing_keys DELETE WHERE 1 = 1`,
		}
	}, analyticstest.NATSSink)
}

// The analytics store benchmarks (analyticstest) on ClickHouse.

func BenchmarkUsageIngest(b *testing.B) { analyticstest.Ingest(b, clickhouse.NewUsageStore(setup(b))) }

func BenchmarkAuditVerify(b *testing.B) { analyticstest.Verify(b, clickhouse.NewAuditLog(setup(b))) }

// BenchmarkUsageReports takes minutes to ingest its 10,000,000 records
// before it measures.
func BenchmarkUsageReports(b *testing.B) {
	analyticstest.Reports(b, clickhouse.NewUsageStore(setup(b)))
}
