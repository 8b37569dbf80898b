// Package routestates is the gateway's migration.Store on a JetStream
// key-value bucket: one key per migration route, written with
// compare-and-set on its revision and watched by every gateway replica.
package routestates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/gateway/domain"
	"github.com/lattice-platform/lattice/services/gateway/migration"
)

// Bucket is the key-value bucket the states live in.
const Bucket = "GATEWAY_MIGRATION"

// Store is the JetStream migration.Store. It binds to its bucket on first
// use, not when it is made: a gateway starting while JetStream is busy (a
// node restarting) starts anyway, is not ready until its watch has read
// the states, and binds on the watch's next try.
type Store struct {
	js       jetstream.JetStream
	replicas int
	mu       sync.Mutex
	kv       jetstream.KeyValue // nil until bound
}

var _ migration.Store = (*Store)(nil)

// New returns a store on js whose bucket, made when missing, keeps ten
// states of each route as its history.
func New(js jetstream.JetStream, replicas int) *Store {
	return &Store{js: js, replicas: max(replicas, 1)}
}

// bucket binds to the bucket, creating it if needed.
func (s *Store) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kv != nil {
		return s.kv, nil
	}
	kv, err := s.js.KeyValue(ctx, Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = s.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, History: 10, Storage: jetstream.FileStorage, Replicas: s.replicas})
		if errors.Is(err, jetstream.ErrBucketExists) { // another replica made it first
			kv, err = s.js.KeyValue(ctx, Bucket)
		}
	}
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "the migration states' bucket is not available", err)
	}
	s.kv = kv
	return kv, nil
}

// key turns a route prefix ("/v1/resources") into a key ("v1.resources"):
// prefixes are path segments of letters, digits, '-' and '_', which keys
// allow, with '.' for '/'.
func key(prefix string) (string, error) {
	k := strings.ReplaceAll(strings.Trim(prefix, "/"), "/", ".")
	if k == "" || strings.ContainsFunc(k, func(r rune) bool {
		return !(r == '.' || r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		return "", fault.InvalidField("route", "a migration route's prefix is path segments of letters, digits, '-' and '_'")
	}
	return k, nil
}

func prefixOf(k string) string { return "/" + strings.ReplaceAll(k, ".", "/") }

// Get returns the route's state and revision.
func (s *Store) Get(ctx context.Context, prefix string) (domain.MigrationState, uint64, error) {
	k, err := key(prefix)
	if err != nil {
		return domain.MigrationState{}, 0, err
	}
	kv, err := s.bucket(ctx)
	if err != nil {
		return domain.MigrationState{}, 0, err
	}
	e, err := kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return domain.MigrationState{}, 0, nil
	}
	if err != nil {
		return domain.MigrationState{}, 0, fault.Wrap(fault.Unavailable, "the migration states could not be read", err)
	}
	var st domain.MigrationState
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return domain.MigrationState{}, 0, fmt.Errorf("migration state of %s: %w", prefix, err)
	}
	return st, e.Revision(), nil
}

// Put stores the state if the revision still holds, and returns the new
// revision: the bucket's sequence, which grows across every key.
func (s *Store) Put(ctx context.Context, prefix string, st domain.MigrationState, rev uint64) (uint64, error) {
	k, err := key(prefix)
	if err != nil {
		return 0, err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return 0, err
	}
	kv, err := s.bucket(ctx)
	if err != nil {
		return 0, err
	}
	var stored uint64
	if rev == 0 {
		stored, err = kv.Create(ctx, k, b)
	} else {
		stored, err = kv.Update(ctx, k, b, rev)
	}
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrKeyExists) || (errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence):
		return 0, fault.New(fault.Conflict, "the route's state changed meanwhile; look again and retry")
	case err != nil:
		return 0, fault.Wrap(fault.Unavailable, "the migration state could not be stored", err)
	}
	return stored, nil
}

// Watch delivers every state, calls loaded, then delivers each change.
func (s *Store) Watch(ctx context.Context, update func(string, domain.MigrationState, uint64), loaded func()) error {
	kv, err := s.bucket(ctx)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("nats: watch %s: %w", Bucket, err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("nats: watch %s ended", Bucket)
			}
			if e == nil { // the initial values are all delivered
				loaded()
				continue
			}
			if e.Operation() != jetstream.KeyValuePut { // deleted by hand: the route is back on the monolith
				update(prefixOf(e.Key()), domain.MigrationState{Phase: domain.PhaseLegacy}, e.Revision())
				continue
			}
			var st domain.MigrationState
			if err := json.Unmarshal(e.Value(), &st); err != nil {
				continue // a value no gateway wrote; the route stays as it was
			}
			update(prefixOf(e.Key()), st, e.Revision())
		}
	}
}
