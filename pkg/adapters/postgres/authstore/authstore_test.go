package authstore_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/app/porttest"
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
	porttest.UserRepository(t, func(t *testing.T) app.UserRepository {
		return authstore.NewUserRepository(setup(t))
	})
}

func TestSessionStore(t *testing.T) {
	porttest.SessionStore(t, func(t *testing.T) (app.SessionStore, string, string) {
		pool := setup(t)
		users := authstore.NewUserRepository(pool)
		return authstore.NewSessionStore(pool), seedUser(t, users, "a@example.com"), seedUser(t, users, "b@example.com")
	})
}

func TestLegacyIDs(t *testing.T) {
	porttest.LegacyIDs(t, func(t *testing.T) app.LegacyIDs { return authstore.NewLegacyIDs(setup(t)) })
}

func TestLoginThrottle(t *testing.T) {
	porttest.LoginThrottle(t, func(t *testing.T) app.LoginThrottle {
		return authstore.NewLoginThrottle(setup(t))
	})
}

func TestOutboxBacklog(t *testing.T) {
	portstest.OutboxBacklog(t, func(t *testing.T) portstest.OutboxStore { return authstore.NewOutbox(setup(t)) })
}

func TestOutboxTraceContext(t *testing.T) {
	portstest.OutboxTraceContext(t, func(t *testing.T) portstest.OutboxStore { return authstore.NewOutbox(setup(t)) })
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
	user := seedUser(t, authstore.NewUserRepository(pool), "c@example.com")
	st := authstore.NewSessionStore(pool)
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

func seedUser(t *testing.T, users app.UserRepository, email string) string {
	t.Helper()
	ts := time.Now().UTC().Truncate(time.Microsecond)
	u := domain.User{ID: newID(t), Email: email, DisplayName: "Seed", Role: domain.RoleUser, PasswordHash: "x", CreatedAt: ts, UpdatedAt: ts}
	require.NoError(t, users.Create(context.Background(), u))
	return u.ID
}

func TestClientRepository(t *testing.T) {
	porttest.ClientRepository(t, func(t *testing.T) app.ClientRepository {
		return authstore.NewClientRepository(setup(t))
	})
}

func TestGrantStore(t *testing.T) {
	porttest.GrantStore(t, func(t *testing.T) porttest.GrantFixture {
		pool := setup(t)
		clients := authstore.NewClientRepository(pool)
		require.NoError(t, clients.Create(context.Background(), domain.Client{ID: "app", Name: "App", Type: domain.ClientPublic,
			GrantTypes: []string{domain.GrantAuthorizationCode}, CreatedAt: time.Now()}))
		return porttest.GrantFixture{Store: authstore.NewGrantStore(pool), ClientID: "app",
			UserID: seedUser(t, authstore.NewUserRepository(pool), "g@example.com")}
	})
}

func TestSigningKeyStore(t *testing.T) {
	porttest.SigningKeyStore(t, func(t *testing.T) app.SigningKeyStore {
		s, err := authstore.NewSigningKeyStore(setup(t), nil)
		require.NoError(t, err)
		return s
	})
}

func TestSigningKeyStoreSealed(t *testing.T) {
	porttest.SigningKeyStore(t, func(t *testing.T) app.SigningKeyStore {
		s, err := authstore.NewSigningKeyStore(setup(t), bytes.Repeat([]byte{7}, 32))
		require.NoError(t, err)
		return s
	})
}

func TestSealedKeysNeedTheirKeyEncryptionKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := setup(t)
	sealed, err := authstore.NewSigningKeyStore(pool, bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	ts := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, sealed.Rotate(ctx, domain.SigningKey{ID: "k", Private: ed25519.NewKeyFromSeed(make([]byte, 32)), CreatedAt: ts}, ts))

	var raw []byte
	require.NoError(t, pool.QueryRow(ctx, "SELECT private_key FROM signing_keys").Scan(&raw))
	require.NotContains(t, string(raw), string(make([]byte, 32)), "the seed must not be stored in clear")

	wrong, err := authstore.NewSigningKeyStore(pool, bytes.Repeat([]byte{2}, 32))
	require.NoError(t, err)
	_, err = wrong.Published(ctx, ts)
	require.Error(t, err)
	plain, err := authstore.NewSigningKeyStore(pool, nil)
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
	sealed, err := authstore.NewSigningKeyStore(pool, kek)
	require.NoError(t, err)
	ts := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, sealed.Rotate(ctx, domain.SigningKey{ID: "ours", Private: ed25519.NewKeyFromSeed(make([]byte, 32)), CreatedAt: ts}, ts.Add(time.Hour)))

	attacker, err := authstore.NewSigningKeyStore(pool, nil)
	require.NoError(t, err)
	planted := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	require.NoError(t, attacker.Rotate(ctx, domain.SigningKey{ID: "planted", Private: planted, CreatedAt: ts.Add(time.Second)}, ts.Add(time.Hour)))

	keys, err := sealed.Published(ctx, ts.Add(2*time.Second))
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.Equal(t, "ours", keys[0].ID, "the planted key is neither active nor published")
}

func TestAPIKeyRepository(t *testing.T) {
	porttest.APIKeyRepository(t, func(t *testing.T) (app.APIKeyRepository, string, string) {
		pool := setup(t)
		users := authstore.NewUserRepository(pool)
		return authstore.NewAPIKeyRepository(pool), seedUser(t, users, "k1@example.com"), seedUser(t, users, "k2@example.com")
	})
}

// TestChangesAndTheirEventsCommitTogether checks the transactional outbox:
// a change and its event both commit, or (on any error) neither does —
// also for repositories that open their own transaction inside (grants).
func TestChangesAndTheirEventsCommitTogether(t *testing.T) {
	ctx := context.Background()
	pool := setup(t)
	tx := postgres.NewTransactor(pool)
	users, grants, outbox := authstore.NewUserRepository(pool), authstore.NewGrantStore(pool), authstore.NewOutbox(pool)
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
