package app

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// indexQueue holds the resources whose indexes lag the store while
// RunIndexer runs: the event use cases commit to the store and queue the
// resource, and the indexer refreshes everything queued in one batch.
// Under load, events arriving while one batch is indexed make up the next,
// so the full-text index gets one batch for many events instead of one
// each (bleve's segment merging grows with the number of batches).
type indexQueue struct {
	mu      sync.Mutex
	running bool
	pending map[string]bool
	events  []queuedEvent // applied to the store, not yet to the indexes
	wake    chan struct{}
}

type queuedEvent struct {
	resourceID string
	EventInfo
}

// queue records an event whose store change the indexes have yet to
// follow. It reports false when no indexer runs: the caller refreshes.
func (q *indexQueue) queue(resourceID, eventID, typ string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.running {
		return false
	}
	q.pending[resourceID] = true
	q.events = append(q.events, queuedEvent{resourceID, EventInfo{ID: eventID, Type: typ}})
	select {
	case q.wake <- struct{}{}:
	default: // a wake-up is already due
	}
	return true
}

// take empties the queue.
func (q *indexQueue) take() ([]string, []queuedEvent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := slices.Collect(maps.Keys(q.pending))
	events := q.events
	q.pending, q.events = map[string]bool{}, nil
	return ids, events
}

// requeue puts back what could not be indexed, ahead of what came since.
func (q *indexQueue) requeue(ids []string, events []queuedEvent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range ids {
		q.pending[id] = true
	}
	q.events = append(events, q.events...)
}

// IndexerRunning reports whether RunIndexer runs: whether an event's
// return means its change is in the store only, the indexes following.
func (s *Service) IndexerRunning() bool {
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	return s.index.running
}

// indexRetry is how long the indexer waits before trying again resources
// it could not read from the store.
const indexRetry = time.Second

// RunIndexer keeps the in-memory indexes in line with the store until ctx
// ends. While it runs, the event use cases return once the store holds
// their change, and the indexes follow in batches: a search may lag an
// acknowledged event by one batch. That loses nothing on a crash, since
// the indexes are rebuilt from the store on start (Load). report receives
// each failed refresh (the resources are retried after a pause). Without
// a running indexer, each event refreshes the indexes before it returns.
func (s *Service) RunIndexer(ctx context.Context, report func(error)) {
	q := &s.index
	q.mu.Lock()
	q.running, q.pending, q.wake = true, map[string]bool{}, make(chan struct{}, 1)
	q.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			// Events queued from here on refresh for themselves; what is
			// queued already is indexed now, so that a service that goes
			// on serving (tests) does not keep a lag.
			q.mu.Lock()
			q.running = false
			q.mu.Unlock()
			ids, events := q.take()
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if _, _, err := s.indexBatch(final, ids, events); err != nil {
				report(err)
			}
			cancel()
			return
		case <-q.wake:
		}
		ids, events := q.take()
		failed, unapplied, err := s.indexBatch(ctx, ids, events)
		if err == nil {
			continue
		}
		report(err)
		q.requeue(failed, unapplied)
		select {
		case <-ctx.Done():
		case <-time.After(indexRetry):
			select {
			case q.wake <- struct{}{}:
			default:
			}
		}
	}
}

// indexBatch refreshes ids from the store in one batch and records their
// events as applied. When the batch fails, each resource is tried alone,
// so that one the store cannot give back does not hold up the others; it
// returns those that failed, with their events, and the first error.
func (s *Service) indexBatch(ctx context.Context, ids []string, events []queuedEvent) ([]string, []queuedEvent, error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	var failed []string
	var first error
	if first = s.refreshMany(ctx, ids); first != nil {
		for _, id := range ids {
			if err := s.refreshMany(ctx, []string{id}); err != nil {
				failed = append(failed, id)
			}
		}
		if len(failed) == 0 {
			first = nil
		}
	}
	var unapplied []queuedEvent
	for _, e := range events {
		if slices.Contains(failed, e.resourceID) {
			unapplied = append(unapplied, e)
			continue
		}
		s.applied(e.ID, e.Type)
	}
	return failed, unapplied, first
}
