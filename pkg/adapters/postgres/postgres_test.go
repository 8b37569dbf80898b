package postgres_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/s3blob"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/analytics/analyticstest"
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

// An unsealed key planted in the table is never loaded or published by a
// store that has a key-encryption key.
func TestUnsealedKeysAreRefusedUnderAKeyEncryptionKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := setup(t)
	kek := bytes.Repeat([]byte{1}, 32)
	sealed, err := postgres.NewSigningKeyStore(pool, kek)
	require.NoError(t, err)
	ts := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, sealed.Rotate(ctx, domain.SigningKey{ID: "ours", Private: ed25519.NewKeyFromSeed(make([]byte, 32)), CreatedAt: ts}, ts.Add(time.Hour)))

	attacker, err := postgres.NewSigningKeyStore(pool, nil)
	require.NoError(t, err)
	planted := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	require.NoError(t, attacker.Rotate(ctx, domain.SigningKey{ID: "planted", Private: planted, CreatedAt: ts.Add(time.Second)}, ts.Add(time.Hour)))

	keys, err := sealed.Published(ctx, ts.Add(2*time.Second))
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.Equal(t, "ours", keys[0].ID, "the planted key is neither active nor published")
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
	portstest.AuditTampering(t, map[string]portstest.AuditTamper{
		"altered row":    {Statements: []string{`UPDATE audit_log SET canonical = '{"actor":"mallory"}' WHERE seq = 4`}, At: 4},
		"deleted row":    {Statements: []string{`DELETE FROM audit_log WHERE seq = 6`}, At: 6},
		"inserted row":   {Statements: []string{`UPDATE audit_log SET seq = -(seq + 1) WHERE seq >= 3`, `UPDATE audit_log SET seq = -seq WHERE seq < 0`, `INSERT INTO audit_log SELECT 3, 'forged', now(), 'x', 'y', 'z', '{"forged":true}', hash FROM audit_log WHERE seq = 4`}, At: 3},
		"reordered rows": {Statements: []string{`UPDATE audit_log SET seq = -5 WHERE seq = 5`, `UPDATE audit_log SET seq = 5 WHERE seq = 6`, `UPDATE audit_log SET seq = 6 WHERE seq = -5`}, At: 5},
		"truncated tail": {Statements: []string{`DELETE FROM audit_log WHERE seq > 8`}, At: 10},
	}, func(t *testing.T) (ports.AuditLog, func(context.Context, string) error) {
		pool := setupAnalytics(t)
		return postgres.NewAuditLog(pool), func(ctx context.Context, stmt string) error { _, err := pool.Exec(ctx, stmt); return err }
	})
}

func TestUsageStore(t *testing.T) {
	portstest.UsageStore(t, func(t *testing.T) ports.UsageStore { return postgres.NewUsageStore(setupAnalytics(t)) })
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
	analyticstest.Ingest(b, postgres.NewUsageStore(setupAnalyticsBench(b)))
}

func BenchmarkAuditVerify(b *testing.B) {
	analyticstest.Verify(b, postgres.NewAuditLog(setupAnalyticsBench(b)))
}

// BenchmarkUsageReports takes a few minutes to ingest its 10,000,000
// records before it measures.
func BenchmarkUsageReports(b *testing.B) {
	analyticstest.Reports(b, postgres.NewUsageStore(setupAnalyticsBench(b)))
}

// TestChangesAndTheirEventsCommitTogether checks the transactional outbox:
// a change and its event both commit, or (on any error) neither does —
// also for repositories that open their own transaction inside (grants).
func TestChangesAndTheirEventsCommitTogether(t *testing.T) {
	ctx := context.Background()
	pool := setup(t)
	tx := postgres.NewTransactor(pool)
	users, grants, outbox := postgres.NewUserRepository(pool), postgres.NewGrantStore(pool), postgres.NewOutbox(pool)
	ts := time.Now().UTC().Truncate(time.Microsecond)
	user := func(email string) domain.User {
		return domain.User{ID: newID(t), Email: email, DisplayName: "T", Role: domain.RoleUser, PasswordHash: "x", CreatedAt: ts, UpdatedAt: ts}
	}
	event := func() ports.Event {
		return ports.Event{ID: newID(t), Subject: "audit.auth", Payload: []byte(`{"n":1}`)}
	}

	kept, keptEvent := user("kept@example.com"), event()
	require.NoError(t, tx.InTx(ctx, func(ctx context.Context) error {
		if err := users.Create(ctx, kept); err != nil {
			return err
		}
		return outbox.Add(ctx, keptEvent)
	}))
	lost := user("lost@example.com")
	boom := errors.New("boom")
	err := tx.InTx(ctx, func(ctx context.Context) error {
		if err := users.Create(ctx, lost); err != nil {
			return err
		}
		if err := outbox.Add(ctx, event()); err != nil {
			return err
		}
		if err := grants.RevokeFamily(ctx, newID(t), ts); err != nil { // a nested transaction (savepoint)
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = users.ByID(ctx, lost.ID)
	require.ErrorIs(t, err, domain.ErrUserNotFound, "the change rolled back with its event")
	_, err = users.ByID(ctx, kept.ID)
	require.NoError(t, err)

	pending, err := outbox.Pending(ctx, 10)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Equal(t, keptEvent, pending[0].Event)
	require.NoError(t, outbox.MarkSent(ctx, []int64{pending[0].Seq}, ts))
	pending, err = outbox.Pending(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, pending)
	n, err := outbox.DeleteSent(ctx, ts.Add(time.Second))
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

func TestAuditTrustAnchors(t *testing.T) {
	store := func(t *testing.T) analyticstest.Store {
		pool := setupAnalytics(t)
		log := postgres.NewAuditLog(pool)
		return analyticstest.Store{Log: log, Keys: log,
			Exec: func(ctx context.Context, stmt string) error { _, err := pool.Exec(ctx, stmt); return err },
			RewriteEntry: func(seq int64, canonical []byte, hash analyticsdomain.Hash) string {
				return fmt.Sprintf(`UPDATE audit_log SET canonical = decode('%x', 'hex'), hash = decode('%x', 'hex') WHERE seq = %d`, canonical, hash[:], seq)
			},
			DeleteCheckpoints: `DELETE FROM audit_checkpoints`,
			DeleteKeys:        `DELETE FROM audit_signing_keys`,
		}
	}
	t.Run("JetStream sink", func(t *testing.T) { analyticstest.Tampering(t, store, analyticstest.NATSSink) })
	t.Run("S3 sink", func(t *testing.T) {
		analyticstest.Tampering(t, store, func(t *testing.T) ports.CheckpointSink {
			srv := testinfra.S3Server(t)
			s, err := s3blob.NewCheckpointSink(context.Background(), s3blob.CheckpointConfig{Config: s3blob.Config{
				Endpoint: srv.Endpoint, Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}})
			require.NoError(t, err)
			return s
		})
	})
}
