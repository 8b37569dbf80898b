package clickhouse_test

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/clickhouse"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/app/storebench"
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
	portstest.UsageStore(t, func(t *testing.T) ports.UsageStore { return clickhouse.NewUsageStore(setup(t)) })
}

func TestAuditLog(t *testing.T) {
	portstest.AuditLog(t, func(t *testing.T) ports.AuditLog { return clickhouse.NewAuditLog(setup(t)) })
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
	portstest.AuditTampering(t, map[string]portstest.AuditTamper{
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
	}, func(t *testing.T) (ports.AuditLog, func(context.Context, string) error) {
		db := setup(t)
		return clickhouse.NewAuditLog(db), func(ctx context.Context, stmt string) error { return clickhouse.ExecForTest(ctx, db, stmt) }
	})
}

func TestSigningKeysPersist(t *testing.T) {
	ctx := context.Background()
	l := clickhouse.NewAuditLog(setup(t))
	id1, key1, pubs, err := app.SigningKeys(ctx, l, nil)
	require.NoError(t, err)
	require.Len(t, pubs, 1)
	id2, key2, _, err := app.SigningKeys(ctx, l, nil)
	require.NoError(t, err)
	require.Equal(t, id1, id2, "a generated key is kept")
	require.Equal(t, key1, key2)
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 7
	id3, _, pubs, err := app.SigningKeys(ctx, l, seed)
	require.NoError(t, err)
	require.NotEqual(t, id1, id3)
	require.Contains(t, pubs, id1, "old public keys stay for old checkpoints")
	require.Contains(t, pubs, id3)
	_, _, _, err = app.SigningKeys(ctx, l, []byte("short"))
	require.Error(t, err)
}

// The analytics store benchmarks (storebench) on ClickHouse.

func BenchmarkUsageIngest(b *testing.B) { storebench.Ingest(b, clickhouse.NewUsageStore(setup(b))) }

func BenchmarkAuditVerify(b *testing.B) { storebench.Verify(b, clickhouse.NewAuditLog(setup(b))) }

// BenchmarkUsageReports takes minutes to ingest its 10,000,000 records
// before it measures.
func BenchmarkUsageReports(b *testing.B) { storebench.Reports(b, clickhouse.NewUsageStore(setup(b))) }
