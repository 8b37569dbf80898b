package porttest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// SessionStore checks a app.SessionStore. newStore returns an empty store
// and the id of a user that sessions may reference (stores with foreign keys
// need the user to exist); otherUser is a second such user.
func SessionStore(t *testing.T, newStore func(t *testing.T) (store app.SessionStore, user, otherUser string)) {
	ctx := context.Background()
	session := func(userID, token string, created time.Time, ttl time.Duration) domain.Session {
		return domain.Session{ID: newID(), UserID: userID, TokenHash: domain.HashToken(token),
			UserAgent: "test-agent/1.0", IP: "127.0.0.1", CreatedAt: created, ExpiresAt: created.Add(ttl)}
	}

	t.Run("create and find by token hash", func(t *testing.T) {
		t.Parallel()
		st, user, _ := newStore(t)
		ts := now()
		s := session(user, "tok-1", ts, time.Hour)
		require.NoError(t, st.Create(ctx, s))
		got, err := st.ByTokenHash(ctx, domain.HashToken("tok-1"), ts)
		require.NoError(t, err)
		require.Equal(t, s, got)
		_, err = st.ByTokenHash(ctx, domain.HashToken("tok-2"), ts)
		require.ErrorIs(t, err, domain.ErrSessionNotFound)
	})

	t.Run("duplicate token hash is a conflict", func(t *testing.T) {
		t.Parallel()
		st, user, _ := newStore(t)
		require.NoError(t, st.Create(ctx, session(user, "same", now(), time.Hour)))
		err := st.Create(ctx, session(user, "same", now(), time.Hour))
		require.True(t, fault.Of(err, fault.Conflict), "got %v", err)
	})

	t.Run("expired sessions are absent", func(t *testing.T) {
		t.Parallel()
		st, user, _ := newStore(t)
		ts := now()
		require.NoError(t, st.Create(ctx, session(user, "short", ts, time.Minute)))
		_, err := st.ByTokenHash(ctx, domain.HashToken("short"), ts.Add(time.Minute))
		require.ErrorIs(t, err, domain.ErrSessionNotFound)
		list, err := st.ListByUser(ctx, user, ts.Add(2*time.Minute))
		require.NoError(t, err)
		require.Empty(t, list)
	})

	t.Run("list is per user, newest first", func(t *testing.T) {
		t.Parallel()
		st, user, other := newStore(t)
		ts := now()
		older := session(user, "a", ts.Add(-time.Minute), time.Hour)
		newer := session(user, "b", ts, time.Hour)
		theirs := session(other, "c", ts, time.Hour)
		for _, s := range []domain.Session{older, newer, theirs} {
			require.NoError(t, st.Create(ctx, s))
		}
		list, err := st.ListByUser(ctx, user, ts)
		require.NoError(t, err)
		require.Equal(t, []domain.Session{newer, older}, list)
	})

	t.Run("delete only own sessions", func(t *testing.T) {
		t.Parallel()
		st, user, other := newStore(t)
		ts := now()
		s := session(user, "mine", ts, time.Hour)
		require.NoError(t, st.Create(ctx, s))
		require.ErrorIs(t, st.Delete(ctx, other, s.ID), domain.ErrSessionNotFound)
		require.NoError(t, st.Delete(ctx, user, s.ID))
		_, err := st.ByTokenHash(ctx, s.TokenHash, ts)
		require.ErrorIs(t, err, domain.ErrSessionNotFound)
		require.ErrorIs(t, st.Delete(ctx, user, s.ID), domain.ErrSessionNotFound)
		list, err := st.ListByUser(ctx, user, ts)
		require.NoError(t, err)
		require.Empty(t, list)
	})
}
