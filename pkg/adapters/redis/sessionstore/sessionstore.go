// Package sessionstore is the auth service's session store on Redis,
// chosen when REDIS_URL is set so that session look-ups on every request
// stay off PostgreSQL.
package sessionstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lattice-platform/lattice/pkg/adapters/redis"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// Store is the Redis app.SessionStore. Layout, under a prefix:
//
//	session:<hex token hash>  JSON record, expiring with the session
//	session-id:<id>           hex token hash, same expiry (for revoke by id)
//	user-sessions:<user id>   sorted set of session ids by creation time
//
// Redis expiry removes dead sessions; reads still compare ExpiresAt with the
// caller's clock so behaviour matches the other stores exactly.
type Store struct {
	rdb    goredis.UniversalClient
	prefix string
}

var _ app.SessionStore = (*Store)(nil)

// New returns a store whose keys start with prefix (for
// example "lattice:auth:").
func New(rdb goredis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

// sessionRecord is the stored JSON; it is not a domain type so the domain
// can change without breaking sessions already in Redis.
type sessionRecord struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	TokenHash []byte    `json:"token_hash"`
	UserAgent string    `json:"user_agent"`
	IP        string    `json:"ip"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (st *Store) hashKey(hash []byte) string {
	return st.prefix + "session:" + hex.EncodeToString(hash)
}
func (st *Store) idKey(id string) string       { return st.prefix + "session-id:" + id }
func (st *Store) userKey(userID string) string { return st.prefix + "user-sessions:" + userID }

// Create stores s; SET NX on both keys refuses duplicates.
func (st *Store) Create(ctx context.Context, s domain.Session) error {
	rec, err := json.Marshal(sessionRecord(s))
	if err != nil {
		return err
	}
	ok, err := st.rdb.SetArgs(ctx, st.hashKey(s.TokenHash), rec, goredis.SetArgs{Mode: "NX", ExpireAt: s.ExpiresAt}).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return redis.Unavailable(err)
	}
	if ok != "OK" {
		return fault.New(fault.Conflict, "session already exists")
	}
	ok, err = st.rdb.SetArgs(ctx, st.idKey(s.ID), hex.EncodeToString(s.TokenHash), goredis.SetArgs{Mode: "NX", ExpireAt: s.ExpiresAt}).Result()
	if err != nil && !errors.Is(err, goredis.Nil) || ok != "OK" {
		st.rdb.Del(ctx, st.hashKey(s.TokenHash))
		if err != nil && !errors.Is(err, goredis.Nil) {
			return redis.Unavailable(err)
		}
		return fault.New(fault.Conflict, "session already exists")
	}
	pipe := st.rdb.TxPipeline()
	pipe.ZAdd(ctx, st.userKey(s.UserID), goredis.Z{Score: float64(s.CreatedAt.UnixMicro()), Member: s.ID})
	// The index lives as long as the longest session in it.
	pipe.ExpireGT(ctx, st.userKey(s.UserID), time.Until(s.ExpiresAt))
	pipe.ExpireNX(ctx, st.userKey(s.UserID), time.Until(s.ExpiresAt))
	if _, err := pipe.Exec(ctx); err != nil {
		return redis.Unavailable(err)
	}
	return nil
}

// ByTokenHash returns the live session with hash.
func (st *Store) ByTokenHash(ctx context.Context, hash []byte, now time.Time) (domain.Session, error) {
	return st.get(ctx, st.hashKey(hash), now)
}

func (st *Store) get(ctx context.Context, key string, now time.Time) (domain.Session, error) {
	raw, err := st.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return domain.Session{}, domain.ErrSessionNotFound
	}
	if err != nil {
		return domain.Session{}, redis.Unavailable(err)
	}
	var rec sessionRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return domain.Session{}, fault.Wrap(fault.Internal, "corrupt session record", err)
	}
	if !now.Before(rec.ExpiresAt) {
		return domain.Session{}, domain.ErrSessionNotFound
	}
	return domain.Session(rec), nil
}

// ListByUser returns the user's live sessions, newest first, pruning ids
// whose sessions have expired from the index.
func (st *Store) ListByUser(ctx context.Context, userID string, now time.Time) ([]domain.Session, error) {
	ids, err := st.rdb.ZRevRange(ctx, st.userKey(userID), 0, -1).Result()
	if err != nil {
		return nil, redis.Unavailable(err)
	}
	out := []domain.Session{}
	var stale []any
	for _, id := range ids {
		s, err := st.byID(ctx, id, now)
		if errors.Is(err, domain.ErrSessionNotFound) {
			stale = append(stale, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(stale) > 0 {
		st.rdb.ZRem(ctx, st.userKey(userID), stale...)
	}
	return out, nil
}

func (st *Store) byID(ctx context.Context, id string, now time.Time) (domain.Session, error) {
	h, err := st.rdb.Get(ctx, st.idKey(id)).Result()
	if errors.Is(err, goredis.Nil) {
		return domain.Session{}, domain.ErrSessionNotFound
	}
	if err != nil {
		return domain.Session{}, redis.Unavailable(err)
	}
	return st.get(ctx, st.prefix+"session:"+h, now)
}

// Delete removes the user's session id.
func (st *Store) Delete(ctx context.Context, userID, id string) error {
	// Deleting an expired-but-not-yet-evicted session must still work, so
	// read with the zero time.
	s, err := st.byID(ctx, id, time.Time{})
	if err != nil {
		return err
	}
	if s.UserID != userID {
		return domain.ErrSessionNotFound
	}
	pipe := st.rdb.TxPipeline()
	pipe.Del(ctx, st.hashKey(s.TokenHash), st.idKey(id))
	pipe.ZRem(ctx, st.userKey(userID), id)
	if _, err := pipe.Exec(ctx); err != nil {
		return redis.Unavailable(err)
	}
	return nil
}
