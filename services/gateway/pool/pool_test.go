package pool

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func urls(t *testing.T, raws ...string) []*url.URL {
	t.Helper()
	var out []*url.URL
	for _, r := range raws {
		u, err := url.Parse(r)
		require.NoError(t, err)
		out = append(out, u)
	}
	return out
}

func TestPickTakesReplicasInTurnAndSkipsEjectedOnes(t *testing.T) {
	p := New("resource", urls(t, "http://a", "http://b", "http://c"))
	clock := time.Unix(1000, 0)
	p.now = func() time.Time { return clock }
	seen := map[string]int{}
	for range 30 {
		seen[p.Pick(nil).URL.Host]++
	}
	require.Equal(t, map[string]int{"a": 10, "b": 10, "c": 10}, seen, "round robin")

	a := p.Members()[0]
	var ejected []string
	p.OnEject = func(_ string, m *Member) { ejected = append(ejected, m.URL.Host) }
	p.Failed(a)
	p.Failed(a)
	p.Succeeded(a) // a success ends the run of failures
	p.Failed(a)
	p.Failed(a)
	require.False(t, p.Ejected(a))
	p.Failed(a)
	require.True(t, p.Ejected(a), "the third failure in a row ejects")
	require.Equal(t, []string{"a"}, ejected)
	for range 10 {
		require.NotEqual(t, "a", p.Pick(nil).URL.Host)
	}

	clock = clock.Add(DefaultEjectFor)
	require.False(t, p.Ejected(a), "back in rotation after its rest")
}

func TestAnEmptyRotationFailsOpenButNeverRepeatsAFailure(t *testing.T) {
	p := New("search", urls(t, "http://a", "http://b"))
	p.now = func() time.Time { return time.Unix(1000, 0) }
	for _, m := range p.Members() {
		for range DefaultEjectAfter {
			p.Failed(m)
		}
	}
	require.NotNil(t, p.Pick(nil), "with every replica ejected, still try one")
	only := New("auth", urls(t, "http://a"))
	require.Nil(t, only.Pick(only.Members()[0]), "no other replica to retry on")
}

func TestParse(t *testing.T) {
	got, ok := Parse("http://a:8082/, http://b:8082")
	require.True(t, ok)
	require.Equal(t, []string{"http://a:8082", "http://b:8082"}, []string{got[0].String(), got[1].String()})
	for _, bad := range []string{"", "a:8082", "http://a,", "://x"} {
		_, ok := Parse(bad)
		require.False(t, ok, bad)
	}
}

// TestAReplicaThatIsNotReadyLeavesTheRotation: active health asks each
// replica's /readyz; one answering 503 (draining, or its store away) gets
// no requests until it answers 200 again.
func TestAReplicaThatIsNotReadyLeavesTheRotation(t *testing.T) {
	var draining atomic.Bool
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ready.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if draining.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer other.Close()
	p := New("resource", urls(t, ready.URL, other.URL))
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()

	draining.Store(true)
	p.Check(context.Background(), client)
	require.True(t, p.Down(p.Members()[1]))
	for range 10 {
		require.Equal(t, ready.URL, p.Pick(nil).URL.String())
	}
	draining.Store(false)
	p.Check(context.Background(), client)
	seen := map[string]bool{}
	for range 10 {
		seen[p.Pick(nil).URL.String()] = true
	}
	require.Len(t, seen, 2, "back in rotation once ready")

	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	draining.Store(true)
	p.Check(stopped, client)
	require.False(t, p.Down(p.Members()[1]), "a check cut short by a stop changes nothing")
}

// TestADNSNameIsAsManyReplicasAsItResolvesTo: dns+http://name:port takes
// every address of name as a replica, follows the answers as they change,
// keeps the state of replicas that stay, and ignores a failed lookup.
func TestADNSNameIsAsManyReplicasAsItResolvesTo(t *testing.T) {
	parsed, ok := Parse("dns+http://resource:8082")
	require.True(t, ok)
	p := New("resource", parsed)
	p.now = func() time.Time { return time.Unix(1000, 0) }
	answer, fail := []string{"10.0.0.2", "10.0.0.1"}, false
	p.lookup = func(_ context.Context, host string) ([]string, error) {
		require.Equal(t, "resource", host)
		if fail {
			return nil, errors.New("no such host")
		}
		return answer, nil
	}
	require.Equal(t, "http://resource:8082", p.Pick(nil).URL.String(), "before the first answer, the name itself")
	hosts := func() []string {
		var out []string
		for _, m := range p.Members() {
			out = append(out, m.URL.String())
		}
		return out
	}
	require.NoError(t, p.Resolve(context.Background()))
	require.Equal(t, []string{"http://10.0.0.1:8082", "http://10.0.0.2:8082"}, hosts())

	first := p.Members()[0]
	for range DefaultEjectAfter {
		p.Failed(first)
	}
	answer = []string{"10.0.0.1", "10.0.0.3"}
	require.NoError(t, p.Resolve(context.Background()))
	require.Equal(t, []string{"http://10.0.0.1:8082", "http://10.0.0.3:8082"}, hosts())
	require.Same(t, first, p.Members()[0])
	require.True(t, p.Ejected(p.Members()[0]), "a replica that stays keeps its state")
	require.True(t, p.Down(p.Members()[1]), "a new name waits for its first readiness check: it may not listen yet")

	fail = true
	require.Error(t, p.Resolve(context.Background()))
	require.Len(t, p.Members(), 2, "a failed lookup keeps the replicas")

	_, ok = Parse("dns+http://resource")
	require.False(t, ok, "a DNS pool needs the port")
}

// hungReplica is a replica whose answers wait until release (idempotent)
// is called, or their caller gives up; it is closed when t ends.
func hungReplica(t *testing.T) (url string, release func()) {
	ch := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-ch:
		case <-r.Context().Done():
		}
	}))
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(func() { release(); srv.Close() })
	return srv.URL, release
}

// A replica whose /readyz does not answer within the check's timeout is
// taken for not ready: a hung replica gets no requests.
func TestAReplicaThatHangsOnItsReadinessCheckIsNotReady(t *testing.T) {
	hung, release := hungReplica(t)
	defer release()
	p := New("search", urls(t, hung))
	client := &http.Client{Timeout: 50 * time.Millisecond}
	defer client.CloseIdleConnections()
	p.Check(context.Background(), client)
	require.True(t, p.Down(p.Members()[0]))
}

// TestOneHungReplicaDoesNotDelayNewsOfAnother: the replicas are checked at
// once, so a draining replica leaves the rotation while the check of a hung
// one is still waiting for its timeout (a drain delay is shorter than it).
func TestOneHungReplicaDoesNotDelayNewsOfAnother(t *testing.T) {
	hung, release := hungReplica(t)
	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer draining.Close()
	p := New("search", urls(t, hung, draining.URL))
	client := &http.Client{Timeout: time.Minute}
	defer client.CloseIdleConnections()

	done := make(chan struct{})
	go func() { defer close(done); p.Check(context.Background(), client) }()
	deadline := time.Now().Add(10 * time.Second)
	for !p.Down(p.Members()[1]) {
		require.True(t, time.Now().Before(deadline), "the draining replica is still in rotation while the hung one is checked")
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("the round ended before the hung replica answered")
	default:
	}
	release()
	<-done
	require.False(t, p.Down(p.Members()[0]), "the hung replica answered 200 in the end")
}
