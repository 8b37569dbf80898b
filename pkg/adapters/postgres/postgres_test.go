package postgres_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/analytics/app"
	analyticsdomain "github.com/lattice-platform/lattice/services/analytics/domain"
	"github.com/lattice-platform/lattice/services/auth/domain"
	schema "github.com/lattice-platform/lattice/sql"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

// setup returns a pool on a fresh, migrated auth database.
func setup(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := postgres.Open(ctx, testinfra.Postgres(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, postgres.Migrate(pool, schema.Auth, "auth/migrations"))
	return pool
}

func TestUserRepository(t *testing.T) {
	portstest.UserRepository(t, func(t *testing.T) ports.UserRepository {
		return postgres.NewUserRepository(setup(t))
	})
}

func TestSessionStore(t *testing.T) {
	portstest.SessionStore(t, func(t *testing.T) (ports.SessionStore, string, string) {
		pool := setup(t)
		users := postgres.NewUserRepository(pool)
		return postgres.NewSessionStore(pool), seedUser(t, users, "a@example.com"), seedUser(t, users, "b@example.com")
	})
}

func TestLoginThrottle(t *testing.T) {
	portstest.LoginThrottle(t, func(t *testing.T) ports.LoginThrottle {
		return postgres.NewLoginThrottle(setup(t))
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	require.NoError(t, postgres.Migrate(pool, schema.Auth, "auth/migrations"))
}

func TestDeleteExpiredSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := setup(t)
	user := seedUser(t, postgres.NewUserRepository(pool), "c@example.com")
	st := postgres.NewSessionStore(pool)
	ts := time.Now().UTC().Truncate(time.Microsecond)
	for i, ttl := range []time.Duration{time.Minute, time.Hour} {
		require.NoError(t, st.Create(ctx, domain.Session{ID: newID(t), UserID: user, TokenHash: []byte{byte(i)},
			CreatedAt: ts, ExpiresAt: ts.Add(ttl)}))
	}
	n, err := st.DeleteExpired(ctx, ts.Add(30*time.Minute))
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	left, err := st.ListByUser(ctx, user, ts)
	require.NoError(t, err)
	require.Len(t, left, 1)
}

func seedUser(t *testing.T, users ports.UserRepository, email string) string {
	t.Helper()
	ts := time.Now().UTC().Truncate(time.Microsecond)
	u := domain.User{ID: newID(t), Email: email, DisplayName: "Seed", Role: domain.RoleUser, PasswordHash: "x", CreatedAt: ts, UpdatedAt: ts}
	require.NoError(t, users.Create(context.Background(), u))
	return u.ID
}

func TestClientRepository(t *testing.T) {
	portstest.ClientRepository(t, func(t *testing.T) ports.ClientRepository {
		return postgres.NewClientRepository(setup(t))
	})
}

func TestGrantStore(t *testing.T) {
	portstest.GrantStore(t, func(t *testing.T) portstest.GrantFixture {
		pool := setup(t)
		clients := postgres.NewClientRepository(pool)
		require.NoError(t, clients.Create(context.Background(), domain.Client{ID: "app", Name: "App", Type: domain.ClientPublic,
			GrantTypes: []string{domain.GrantAuthorizationCode}, CreatedAt: time.Now()}))
		return portstest.GrantFixture{Store: postgres.NewGrantStore(pool), ClientID: "app",
			UserID: seedUser(t, postgres.NewUserRepository(pool), "g@example.com")}
	})
}

func TestSigningKeyStore(t *testing.T) {
	portstest.SigningKeyStore(t, func(t *testing.T) ports.SigningKeyStore {
		s, err := postgres.NewSigningKeyStore(setup(t), nil)
		require.NoError(t, err)
		return s
	})
}

func TestSigningKeyStoreSealed(t *testing.T) {
	portstest.SigningKeyStore(t, func(t *testing.T) ports.SigningKeyStore {
		s, err := postgres.NewSigningKeyStore(setup(t), bytes.Repeat([]byte{7}, 32))
		require.NoError(t, err)
		return s
	})
}

func TestSealedKeysNeedTheirKeyEncryptionKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := setup(t)
	sealed, err := postgres.NewSigningKeyStore(pool, bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	ts := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, sealed.Rotate(ctx, domain.SigningKey{ID: "k", Private: ed25519.NewKeyFromSeed(make([]byte, 32)), CreatedAt: ts}, ts))

	var raw []byte
	require.NoError(t, pool.QueryRow(ctx, "SELECT private_key FROM signing_keys").Scan(&raw))
	require.NotContains(t, string(raw), string(make([]byte, 32)), "the seed must not be stored in clear")

	wrong, err := postgres.NewSigningKeyStore(pool, bytes.Repeat([]byte{2}, 32))
	require.NoError(t, err)
	_, err = wrong.Published(ctx, ts)
	require.Error(t, err)
	plain, err := postgres.NewSigningKeyStore(pool, nil)
	require.NoError(t, err)
	_, err = plain.Published(ctx, ts)
	require.Error(t, err)
}

func TestAPIKeyRepository(t *testing.T) {
	portstest.APIKeyRepository(t, func(t *testing.T) (ports.APIKeyRepository, string, string) {
		pool := setup(t)
		users := postgres.NewUserRepository(pool)
		return postgres.NewAPIKeyRepository(pool), seedUser(t, users, "k1@example.com"), seedUser(t, users, "k2@example.com")
	})
}

func setupAnalytics(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.Open(context.Background(), testinfra.Postgres(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, postgres.Migrate(pool, schema.Analytics, "analytics/migrations"))
	return pool
}

func TestAuditLog(t *testing.T) {
	portstest.AuditLog(t, func(t *testing.T) ports.AuditLog { return postgres.NewAuditLog(setupAnalytics(t)) })
}

// TestAuditVerifyCatchesTamperingInTheDatabase alters, deletes, inserts
// and reorders rows with SQL, as an intruder with database access would,
// and checks verification names the first broken entry each time.
func TestAuditVerifyCatchesTamperingInTheDatabase(t *testing.T) {
	ctx := context.Background()
	pub, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	keys := map[string]ed25519.PublicKey{"k1": pub}
	cases := map[string]struct {
		sql string
		at  int64
	}{
		"altered row":    {`UPDATE audit_log SET canonical = '{"actor":"mallory"}' WHERE seq = 4`, 4},
		"deleted row":    {`DELETE FROM audit_log WHERE seq = 6`, 6},
		"inserted row":   {`UPDATE audit_log SET seq = -(seq + 1) WHERE seq >= 3; UPDATE audit_log SET seq = -seq WHERE seq < 0; INSERT INTO audit_log SELECT 3, 'forged', now(), 'x', 'y', 'z', '{"forged":true}', hash FROM audit_log WHERE seq = 4`, 3},
		"reordered rows": {`UPDATE audit_log SET seq = -5 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = 6; UPDATE audit_log SET seq = 6 WHERE seq = -5`, 5},
		"truncated tail": {`DELETE FROM audit_log WHERE seq > 8`, 10},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pool := setupAnalytics(t)
			l := postgres.NewAuditLog(pool)
			_, head, err := l.Append(ctx, portstest.AuditEvents(10, "alice"))
			require.NoError(t, err)
			require.NoError(t, l.AddCheckpoint(ctx, analyticsdomain.SignCheckpoint(head, time.Now(), "k1", key)))
			_, err = pool.Exec(ctx, c.sql)
			require.NoError(t, err)
			prev, entries, err := l.Entries(ctx, 1, 10)
			require.NoError(t, err)
			cps, err := l.Checkpoints(ctx, 1, 10)
			require.NoError(t, err)
			brk := analyticsdomain.Verify(prev, 1, entries, cps, keys)
			require.NotNil(t, brk)
			require.Equal(t, c.at, brk.Seq, brk.Reason)
		})
	}
}

func TestUsageStore(t *testing.T) {
	portstest.UsageStore(t, func(t *testing.T) ports.UsageStore { return postgres.NewUsageStore(setupAnalytics(t)) })
}

// BenchmarkUsageIngest measures batched ingestion (5,000 records per
// batch, over five minutes of traffic with ~1,000 distinct roll-up keys)
// into raw records and roll-ups.
func BenchmarkUsageIngest(b *testing.B) {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, testinfra.Postgres(b))
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	require.NoError(b, postgres.Migrate(pool, schema.Analytics, "analytics/migrations"))
	s := postgres.NewUsageStore(pool)
	rng := rand.New(rand.NewPCG(9, 9))
	start := time.Now().UTC().Truncate(time.Minute)
	total := 0
	for b.Loop() {
		batch := portstest.UsageRecords(rng, 5000, start)
		n, err := s.Ingest(ctx, batch)
		require.NoError(b, err)
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAuditVerify measures reading and verifying the audit chain from
// PostgreSQL: 20,000 entries per operation, in pages of 10,000.
func BenchmarkAuditVerify(b *testing.B) {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, testinfra.Postgres(b))
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	require.NoError(b, postgres.Migrate(pool, schema.Analytics, "analytics/migrations"))
	l := postgres.NewAuditLog(pool)
	for range 20 {
		_, _, err := l.Append(ctx, portstest.AuditEvents(1000, "bench"))
		require.NoError(b, err)
	}
	entries := 0
	for b.Loop() {
		for lo := int64(1); lo <= 20000; lo += 10000 {
			prev, page, err := l.Entries(ctx, lo, lo+9999)
			require.NoError(b, err)
			require.Nil(b, analyticsdomain.Verify(prev, lo, page, nil, nil))
			entries += len(page)
		}
	}
	b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkUsageReports measures report latency over 10,000,000 usage
// records spread over 30 days (ingested once, in batches of 5,000, which
// takes a few minutes): reports read the hour and day roll-ups.
func BenchmarkUsageReports(b *testing.B) {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, testinfra.Postgres(b))
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	require.NoError(b, postgres.Migrate(pool, schema.Analytics, "analytics/migrations"))
	store := postgres.NewUsageStore(pool)
	rng := rand.New(rand.NewPCG(10, 10))
	end := time.Now().UTC().Truncate(24 * time.Hour)
	start := end.AddDate(0, 0, -30)
	const total, batch = 10_000_000, 5000
	t0 := time.Now()
	for n := 0; n < total; n += batch {
		records := portstest.UsageRecords(rng, batch, start)
		for i := range records { // spread over the 30 days
			records[i].Time = start.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		}
		_, err := store.Ingest(ctx, records)
		require.NoError(b, err)
	}
	b.Logf("ingested %d records in %s (%.0f records/s)", total, time.Since(t0).Round(time.Second), total/time.Since(t0).Seconds())
	svc := app.New(app.Deps{Usage: store})
	admin := analyticsdomain.Caller{Subject: "root", Scopes: []string{analyticsdomain.ScopeAdmin}}
	user := analyticsdomain.Caller{Subject: "u1", Scopes: []string{analyticsdomain.ScopeRead}}
	for _, c := range []struct {
		name   string
		caller analyticsdomain.Caller
		q      app.UsageQuery
	}{
		{"30d-by-day-route", admin, app.UsageQuery{From: start, To: end, Granularity: analyticsdomain.Day, GroupBy: "route"}},
		{"30d-by-hour", admin, app.UsageQuery{From: start, To: end, Granularity: analyticsdomain.Hour}},
		{"30d-by-hour-one-user", user, app.UsageQuery{From: start, To: end, Granularity: analyticsdomain.Hour}},
		{"1d-by-minute", admin, app.UsageQuery{From: end.AddDate(0, 0, -1), To: end, Granularity: analyticsdomain.Minute}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				points, err := svc.UsageReport(ctx, c.caller, c.q)
				require.NoError(b, err)
				require.NotEmpty(b, points)
			}
		})
	}
}
