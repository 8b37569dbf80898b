package jobstore

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// SetCallTimeout shortens the per-call bound, so a test can cross it.
func (s *Store) SetCallTimeout(d time.Duration) { s.timeout = d }

// CountGets counts the reads s makes of its bucket from now on.
func CountGets(s *Store) *atomic.Int64 {
	c := &countingKV{KeyValue: s.kv}
	s.kv = c
	return &c.gets
}

type countingKV struct {
	jetstream.KeyValue
	gets atomic.Int64
}

func (c *countingKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	c.gets.Add(1)
	return c.KeyValue.Get(ctx, key)
}
