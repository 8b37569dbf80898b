package porttest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// ClientRepository checks a app.ClientRepository.
func ClientRepository(t *testing.T, newRepo func(t *testing.T) app.ClientRepository) {
	ctx := context.Background()
	t.Run("create, read, list, delete", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		c := domain.Client{ID: "app-1", Name: "App", Type: domain.ClientConfidential, SecretHash: domain.HashToken("s"),
			RedirectURIs: []string{"https://app.example.com/cb"}, GrantTypes: []string{domain.GrantAuthorizationCode, domain.GrantRefreshToken},
			Scopes: []string{"resources:read"}, CreatedAt: now()}
		pub := domain.Client{ID: "cli", Name: "CLI", Type: domain.ClientPublic, RedirectURIs: []string{"http://127.0.0.1/cb"},
			GrantTypes: []string{domain.GrantAuthorizationCode}, Scopes: []string{}, CreatedAt: now().Add(time.Second)}
		require.NoError(t, r.Create(ctx, c))
		require.NoError(t, r.Create(ctx, pub))
		require.True(t, fault.Of(r.Create(ctx, c), fault.Conflict))
		got, err := r.ByID(ctx, "app-1")
		require.NoError(t, err)
		require.Equal(t, c, got)
		got, err = r.ByID(ctx, "cli")
		require.NoError(t, err)
		require.Empty(t, got.SecretHash)
		list, err := r.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Equal(t, "app-1", list[0].ID)
		require.NoError(t, r.Delete(ctx, "app-1"))
		_, err = r.ByID(ctx, "app-1")
		require.ErrorIs(t, err, domain.ErrClientNotFound)
		require.ErrorIs(t, r.Delete(ctx, "app-1"), domain.ErrClientNotFound)
	})
}

// GrantFixture is what a GrantStore suite needs: the store and a client
// and user that grants may reference.
type GrantFixture struct {
	Store    app.GrantStore
	ClientID string
	UserID   string
}

// GrantStore checks a app.GrantStore.
func GrantStore(t *testing.T, newStore func(t *testing.T) GrantFixture) {
	ctx := context.Background()
	refresh := func(f GrantFixture, token, family string, ts time.Time) domain.RefreshToken {
		return domain.RefreshToken{ID: newID(), FamilyID: family, TokenHash: domain.HashToken(token), ClientID: f.ClientID,
			UserID: f.UserID, Scopes: []string{"a", "b"}, CreatedAt: ts, ExpiresAt: ts.Add(time.Hour)}
	}

	t.Run("codes are spent once", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		c := domain.AuthorizationCode{CodeHash: domain.HashToken("code"), ClientID: f.ClientID, UserID: f.UserID,
			RedirectURI: "https://app.example.com/cb", Scopes: []string{"a"}, CodeChallenge: "ch", CreatedAt: ts, ExpiresAt: ts.Add(time.Minute)}
		require.NoError(t, f.Store.SaveCode(ctx, c))
		got, err := f.Store.ConsumeCode(ctx, c.CodeHash, ts)
		require.NoError(t, err)
		require.Equal(t, c, got)
		_, err = f.Store.ConsumeCode(ctx, c.CodeHash, ts)
		require.ErrorIs(t, err, app.ErrCodeSpent)
		_, err = f.Store.ConsumeCode(ctx, domain.HashToken("other"), ts)
		require.ErrorIs(t, err, app.ErrGrantNotFound)
	})

	t.Run("concurrent code redemption has one winner", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		c := domain.AuthorizationCode{CodeHash: domain.HashToken("race"), ClientID: f.ClientID, UserID: f.UserID,
			RedirectURI: "https://app.example.com/cb", Scopes: []string{}, CodeChallenge: "ch", CreatedAt: ts, ExpiresAt: ts.Add(time.Minute)}
		require.NoError(t, f.Store.SaveCode(ctx, c))
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.Store.ConsumeCode(ctx, c.CodeHash, ts); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		require.Equal(t, 1, wins)
	})

	t.Run("rotation spends the old token and keeps the family", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		first := refresh(f, "r1", newID(), ts)
		require.NoError(t, f.Store.SaveRefresh(ctx, first))
		got, err := f.Store.RefreshByHash(ctx, first.TokenHash, ts)
		require.NoError(t, err)
		require.Equal(t, first, got)

		second, err := f.Store.Rotate(ctx, first.TokenHash, ts, func(old domain.RefreshToken) (domain.RefreshToken, error) {
			require.Equal(t, first, old)
			return refresh(f, "r2", "ignored", ts), nil
		})
		require.NoError(t, err)
		require.Equal(t, first.FamilyID, second.FamilyID)
		_, err = f.Store.RefreshByHash(ctx, first.TokenHash, ts)
		require.ErrorIs(t, err, app.ErrGrantNotFound, "spent")
		live, err := f.Store.RefreshByHash(ctx, second.TokenHash, ts)
		require.NoError(t, err)
		require.Equal(t, second, live)
	})

	t.Run("reuse of a spent token revokes the family", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		first := refresh(f, "x1", newID(), ts)
		require.NoError(t, f.Store.SaveRefresh(ctx, first))
		second, err := f.Store.Rotate(ctx, first.TokenHash, ts, func(domain.RefreshToken) (domain.RefreshToken, error) {
			return refresh(f, "x2", "", ts), nil
		})
		require.NoError(t, err)
		_, err = f.Store.Rotate(ctx, first.TokenHash, ts, func(domain.RefreshToken) (domain.RefreshToken, error) {
			t.Error("next must not be called on reuse")
			return refresh(f, "x3", "", ts), nil
		})
		require.ErrorIs(t, err, app.ErrRefreshReused)
		_, err = f.Store.RefreshByHash(ctx, second.TokenHash, ts)
		require.ErrorIs(t, err, app.ErrGrantNotFound, "the live successor is revoked too")
		_, err = f.Store.Rotate(ctx, second.TokenHash, ts, func(domain.RefreshToken) (domain.RefreshToken, error) {
			return refresh(f, "x4", "", ts), nil
		})
		require.ErrorIs(t, err, app.ErrGrantNotFound)
	})

	t.Run("expired, revoked and unknown tokens do not rotate", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		tok := refresh(f, "e1", newID(), ts)
		require.NoError(t, f.Store.SaveRefresh(ctx, tok))
		next := func(domain.RefreshToken) (domain.RefreshToken, error) { return refresh(f, "e2", "", ts), nil }
		_, err := f.Store.Rotate(ctx, tok.TokenHash, ts.Add(time.Hour), next)
		require.ErrorIs(t, err, app.ErrGrantNotFound)
		_, err = f.Store.Rotate(ctx, domain.HashToken("nope"), ts, next)
		require.ErrorIs(t, err, app.ErrGrantNotFound)
		require.NoError(t, f.Store.RevokeFamily(ctx, tok.FamilyID, ts))
		_, err = f.Store.Rotate(ctx, tok.TokenHash, ts, next)
		require.ErrorIs(t, err, app.ErrGrantNotFound)
	})

	t.Run("an error from next aborts the rotation", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		tok := refresh(f, "a1", newID(), ts)
		require.NoError(t, f.Store.SaveRefresh(ctx, tok))
		boom := fault.New(fault.Invalid, "boom")
		_, err := f.Store.Rotate(ctx, tok.TokenHash, ts, func(domain.RefreshToken) (domain.RefreshToken, error) {
			return domain.RefreshToken{}, boom
		})
		require.ErrorIs(t, err, boom)
		_, err = f.Store.RefreshByHash(ctx, tok.TokenHash, ts)
		require.NoError(t, err, "the old token is still live")
	})

	t.Run("concurrent rotation has one winner", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		ts := now()
		tok := refresh(f, "c1", newID(), ts)
		require.NoError(t, f.Store.SaveRefresh(ctx, tok))
		var wg sync.WaitGroup
		results := make(chan error, 6)
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.Store.Rotate(ctx, tok.TokenHash, ts, func(domain.RefreshToken) (domain.RefreshToken, error) {
					return refresh(f, "c-next-"+string(rune('a'+i)), "", ts), nil
				})
				results <- err
			}()
		}
		wg.Wait()
		close(results)
		ok := 0
		for err := range results {
			if err == nil {
				ok++
			} else {
				// The first loser sees reuse and revokes the family; later
				// ones find it revoked.
				require.True(t, errors.Is(err, app.ErrRefreshReused) || errors.Is(err, app.ErrGrantNotFound), "got %v", err)
			}
		}
		require.Equal(t, 1, ok)
	})
}

// SigningKeyStore checks a app.SigningKeyStore.
func SigningKeyStore(t *testing.T, newStore func(t *testing.T) app.SigningKeyStore) {
	ctx := context.Background()
	key := func(id string, ts time.Time) domain.SigningKey {
		seed := make([]byte, ed25519.SeedSize)
		copy(seed, id)
		return domain.SigningKey{ID: id, Private: ed25519.NewKeyFromSeed(seed), CreatedAt: ts}
	}
	t.Run("rotation retires and later unpublishes the old key", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ts := now()
		empty, err := s.Published(ctx, ts)
		require.NoError(t, err)
		require.Empty(t, empty)

		k1 := key("k1", ts)
		require.NoError(t, s.Rotate(ctx, k1, ts.Add(time.Hour)))
		got, err := s.Published(ctx, ts)
		require.NoError(t, err)
		require.Equal(t, []domain.SigningKey{k1}, got)

		k2 := key("k2", ts.Add(time.Minute))
		require.NoError(t, s.Rotate(ctx, k2, ts.Add(time.Minute+15*time.Minute)))
		got, err = s.Published(ctx, ts.Add(2*time.Minute))
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.Equal(t, k2, got[0])
		require.Equal(t, "k1", got[1].ID)
		require.False(t, got[1].Active())
		require.Equal(t, ts.Add(time.Minute), got[1].RetiredAt)
		require.True(t, got[1].Private.Equal(k1.Private))

		got, err = s.Published(ctx, ts.Add(16*time.Minute))
		require.NoError(t, err)
		require.Equal(t, []domain.SigningKey{k2}, got)
	})
}

// APIKeyRepository checks a app.APIKeyRepository. newRepo returns the
// repository and two users keys may belong to.
func APIKeyRepository(t *testing.T, newRepo func(t *testing.T) (app.APIKeyRepository, string, string)) {
	ctx := context.Background()
	t.Run("create, find, list, revoke", func(t *testing.T) {
		t.Parallel()
		r, user, other := newRepo(t)
		ts := now()
		k := domain.APIKey{ID: newID(), UserID: user, Name: "ci", Prefix: "ltk_abcdefgh", Hash: domain.HashToken("ltk_secret"),
			Scopes: []string{"resources:read"}, CreatedAt: ts, ExpiresAt: ts.Add(24 * time.Hour)}
		forever := domain.APIKey{ID: newID(), UserID: user, Name: "bot", Prefix: "ltk_ijklmnop", Hash: domain.HashToken("ltk_other"),
			Scopes: []string{"search:read"}, CreatedAt: ts.Add(time.Second)}
		require.NoError(t, r.Create(ctx, k))
		require.NoError(t, r.Create(ctx, forever))
		require.True(t, fault.Of(r.Create(ctx, k), fault.Conflict))

		got, err := r.ByHash(ctx, domain.HashToken("ltk_secret"))
		require.NoError(t, err)
		require.Equal(t, k, got)
		_, err = r.ByHash(ctx, domain.HashToken("nope"))
		require.ErrorIs(t, err, domain.ErrAPIKeyNotFound)

		list, err := r.ListByUser(ctx, user)
		require.NoError(t, err)
		require.Equal(t, []domain.APIKey{forever, k}, list)
		none, err := r.ListByUser(ctx, other)
		require.NoError(t, err)
		require.Empty(t, none)

		require.ErrorIs(t, r.Revoke(ctx, other, k.ID, ts), domain.ErrAPIKeyNotFound)
		require.NoError(t, r.Revoke(ctx, user, k.ID, ts.Add(time.Minute)))
		require.ErrorIs(t, r.Revoke(ctx, user, k.ID, ts), domain.ErrAPIKeyNotFound, "already revoked")
		got, err = r.ByHash(ctx, k.Hash)
		require.NoError(t, err)
		require.Equal(t, ts.Add(time.Minute), got.RevokedAt)
		require.False(t, got.Live(ts.Add(2*time.Minute)))

		require.NoError(t, r.Touch(ctx, forever.ID, ts.Add(time.Hour)))
		got, err = r.ByHash(ctx, forever.Hash)
		require.NoError(t, err)
		require.Equal(t, ts.Add(time.Hour), got.LastUsedAt)
	})
}
