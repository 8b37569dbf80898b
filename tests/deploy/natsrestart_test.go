package deploy_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// The NATS restart test writes 1,000 resources, whose indexing then keeps
// both search replicas and processing busy for a minute or more; it is in
// this file so that it runs after the journey (go test runs files in name
// order), whose timings would otherwise include that backlog.

// creationEvents counts the resource.created events on the EVENTS stream
// for each of ids, reading the stream from its start to its current end
// with a pull consumer of the operator's. The consumer is a single
// in-memory replica: it needs no raft group of its own, so a cluster still
// settling after the restart can host it, and each attempt is bounded so
// that a request the cluster never answers costs one try, not the wait.
func creationEvents(ctx context.Context, js jetstream.JetStream, ids []string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	counts := make(map[string]int, len(ids))
	for _, id := range ids {
		counts[id] = 0
	}
	cons, err := js.CreateConsumer(ctx, "EVENTS", jetstream.ConsumerConfig{AckPolicy: jetstream.AckNonePolicy,
		FilterSubject: "events.resource.created", InactiveThreshold: time.Minute,
		Replicas: 1, MemoryStorage: true})
	if err != nil {
		return nil, fmt.Errorf("create a consumer: %w", err)
	}
	defer func() { _ = js.DeleteConsumer(context.WithoutCancel(ctx), "EVENTS", cons.CachedInfo().Name) }()
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("consumer info: %w", err)
	}
	for read := uint64(0); read < info.NumPending; {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("fetch after %d of %d: %w", read, info.NumPending, err)
		}
		before := read
		for msg := range batch.Messages() {
			read++
			var ev struct {
				Subject string `json:"subject"`
			}
			if err := json.Unmarshal(msg.Data(), &ev); err != nil {
				return nil, err
			}
			if _, ours := counts[ev.Subject]; ours {
				counts[ev.Subject]++
			}
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("fetch after %d of %d: %w", read, info.NumPending, err)
		}
		if read == before {
			return nil, errors.New("the stream gave nothing within the wait")
		}
	}
	return counts, nil
}

// TestRestartingANATSNodeDuring1000Writes: 1,000 resources are created
// through the gateway while one NATS node restarts. Every write succeeds;
// the EVENTS stream holds exactly one creation event per resource (no loss,
// no duplicate), and both search replicas index every one.
func TestRestartingANATSNodeDuring1000Writes(t *testing.T) {
	d := deploy(t)
	c := &caller{t: t, client: d.Public}
	gw := d.Gateway
	ada := session(c, gw, "nats@faults.example", true)
	const writes = 1000
	run := strconv.FormatInt(time.Now().UnixNano()%1e6, 36)

	d.restore(t, "nats-2")
	var done atomic.Int64
	restarted := make(chan error, 1)
	go func() {
		for done.Load() < writes/5 {
			time.Sleep(10 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := d.compose(ctx, "restart", "-t", "0", "nats-2")
		d.forget("nats-2")
		restarted <- err
	}()
	ids := make([]string, writes)
	var wg sync.WaitGroup
	work := make(chan int)
	var failures atomic.Int64
	for range 8 {
		wg.Go(func() {
			for i := range work {
				body, _ := json.Marshal(map[string]string{"title": "n" + run + " " + strconv.Itoa(i), "body": word(run, i), "visibility": "private"})
				req, _ := http.NewRequest("POST", gw+"/v1/resources", strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+ada)
				resp, err := d.Public.Do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				var out struct{ ID string }
				_ = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					failures.Add(1)
				}
				ids[i] = out.ID
				done.Add(1)
			}
		})
	}
	for i := range writes {
		work <- i
	}
	close(work)
	wg.Wait()
	lastWrite := time.Now()
	require.NoError(t, <-restarted)
	require.Zero(t, failures.Load(), "every write succeeded while the node restarted")

	// Exactly one creation event per resource on the stream. The outboxes
	// relay after the writes answered (seconds later, around the restart),
	// so the stream is read again until every resource has its event;
	// then none may have two.
	js := d.operatorBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var want map[string]int
	var lastErr error
	missing := -1
	defer func() {
		if t.Failed() {
			t.Logf("the stream's last reading: %d resources without a creation event; last error: %v", missing, lastErr)
			ictx, icancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer icancel()
			if st, err := js.Stream(ictx, "EVENTS"); err != nil {
				t.Logf("EVENTS: %v", err)
			} else if c := st.CachedInfo().Cluster; c != nil {
				var peers []string
				for _, p := range c.Replicas {
					peers = append(peers, fmt.Sprintf("%s(current=%t lag=%d)", p.Name, p.Current, p.Lag))
				}
				t.Logf("EVENTS: %d messages, leader %q, replicas %v; operator connected to %s",
					st.CachedInfo().State.Msgs, c.Leader, peers, js.Conn().ConnectedUrl())
			}
		}
	}()
	testinfra.Within(t, 2*time.Minute, "every creation reaches the EVENTS stream", func() bool {
		got, err := creationEvents(ctx, js, ids)
		if err != nil {
			lastErr = err // right after the restart the cluster may still be electing leaders
			return false
		}
		want = got
		missing = 0
		for _, n := range want {
			if n == 0 {
				missing++
			}
		}
		return missing == 0
	})
	for id, n := range want {
		require.Equal(t, 1, n, "resource %s: %d creation events", id, n)
	}

	// Both search replicas index every resource (each has its own index).
	// The writes leave a backlog, a processing job per resource, on workers
	// that share two cores with sixteen containers. So the wait is for
	// progress: it fails once no resource is newly found for 90 s.
	for _, replica := range []string{"search-1", "search-2"} {
		base := d.url(t, replica)
		missing := make([]int, len(ids))
		for i := range missing {
			missing[i] = i
		}
		progressed := time.Now()
		for len(missing) > 0 {
			still, lastErr := notIndexed(missing, func(i int) (bool, error) {
				hits, err := searchAt(d.Internal, base, ada, word(run, i), "text")
				// Exactly one hit: a duplicate would show as two.
				return err == nil && count(hits, ofResource(ids[i])) == 1, err
			})
			if len(still) < len(missing) {
				progressed = time.Now()
			}
			missing = still
			require.False(t, len(missing) > 0 && time.Since(progressed) > 90*time.Second,
				"%s indexes none of the %d resources left for 90 s (last error: %v): %v", replica, len(missing), lastErr, missing)
			if len(missing) > 0 {
				time.Sleep(500 * time.Millisecond) // the poll's interval
			}
		}
	}
	t.Logf("figure: NATS node restart during %d writes: %d failed, 0 events lost or duplicated; both search replicas had indexed all %d %s after the last write",
		writes, failures.Load(), writes, time.Since(lastWrite).Round(time.Second))
}

// notIndexed asks found about each of items, eight at a time, and returns
// those it did not find, with the last error it saw.
func notIndexed(items []int, found func(int) (bool, error)) ([]int, error) {
	var mu sync.Mutex
	var still []int
	var lastErr error
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				ok, err := found(i)
				if !ok {
					mu.Lock()
					still, lastErr = append(still, i), cmp.Or(err, lastErr)
					mu.Unlock()
				}
			}
		})
	}
	for _, i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	slices.Sort(still)
	return still, lastErr
}

// word is a token unique to write i of a run, for finding it in search.
func word(run string, i int) string {
	const letters = "bcdfghjklmnpqrstvwxz"
	w := []byte("zq" + run)
	for n := i + 1; n > 0; n /= len(letters) {
		w = append(w, letters[n%len(letters)])
	}
	return string(w)
}
