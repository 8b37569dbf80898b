// Package pool is a gateway upstream as a set of replicas: requests go to
// them in turn; a replica that fails repeatedly (refused connections, 502,
// 503, 504) is ejected for a while (passive health), and one whose /readyz
// says no is left out until it says yes (active health); when no replica
// is in rotation the pool fails open rather than refuse everything. Picking is lock-free: the
// member list is replaced whole when DNS answers change, and each member's
// state is atomic.
package pool

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for passive health.
const (
	DefaultEjectAfter = 3                // consecutive failures
	DefaultEjectFor   = 30 * time.Second // how long an ejected replica rests
)

// Member is one replica.
type Member struct {
	URL          *url.URL
	pool         *Pool
	fails        atomic.Int32
	ejectedUntil atomic.Int64 // unix nanoseconds; 0: in rotation
	down         atomic.Bool  // its /readyz said no at the last active check
}

// Pool is one upstream's replicas.
type Pool struct {
	Name    string
	members atomic.Pointer[[]*Member] // replaced whole when DNS answers change
	// dns, when set, is the replica template: its host is a DNS name whose
	// A/AAAA records are the replicas (Resolve).
	dns        *url.URL
	lookup     func(ctx context.Context, host string) ([]string, error)
	next       atomic.Uint32
	ejectAfter int32
	ejectFor   time.Duration
	now        func() time.Time
	// OnEject, if set, is told of each ejection (metrics, logs).
	OnEject func(name string, m *Member)
}

// New returns a pool of urls (at least one). A URL whose scheme starts
// with "dns+" (dns+http://resource:8082) names a DNS name instead: every
// address it resolves to is a replica, and Resolve keeps them current.
func New(name string, urls []*url.URL) *Pool {
	p := &Pool{Name: name, ejectAfter: DefaultEjectAfter, ejectFor: DefaultEjectFor, now: time.Now,
		lookup: net.DefaultResolver.LookupHost}
	members := make([]*Member, 0, len(urls))
	for _, u := range urls {
		if scheme, ok := strings.CutPrefix(u.Scheme, "dns+"); ok {
			tmpl := *u
			tmpl.Scheme = scheme
			p.dns = &tmpl
			// Until the first answer, the name itself is the one replica.
			members = append(members, &Member{URL: &tmpl, pool: p})
			continue
		}
		members = append(members, &Member{URL: u, pool: p})
	}
	p.members.Store(&members)
	return p
}

// Resolve looks the pool's DNS name up again (a no-op for listed
// replicas) and makes its answers the replicas, keeping the state of
// those that stay. A failed or empty answer keeps the replicas as they are.
func (p *Pool) Resolve(ctx context.Context) error {
	if p.dns == nil {
		return nil
	}
	addrs, err := p.lookup(ctx, p.dns.Hostname())
	if err != nil || len(addrs) == 0 {
		return err
	}
	slices.Sort(addrs)
	known := map[string]*Member{}
	for _, m := range p.Members() {
		known[m.URL.Host] = m
	}
	members := make([]*Member, 0, len(addrs))
	for _, a := range addrs {
		host := net.JoinHostPort(a, p.dns.Port())
		if m, ok := known[host]; ok {
			members = append(members, m)
			continue
		}
		u := *p.dns
		u.Host = host
		// A container is named as soon as it starts, before it listens:
		// a new replica waits for its first readiness check.
		m := &Member{URL: &u, pool: p}
		m.down.Store(true)
		members = append(members, m)
	}
	p.members.Store(&members)
	return nil
}

// Parse reads an upstream setting: one URL, several separated by commas,
// or dns+http(s)://name:port for every address the name resolves to.
func Parse(raw string) ([]*url.URL, bool) {
	var out []*url.URL
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSuffix(strings.TrimSpace(part), "/")
		u, err := url.Parse(part)
		if err != nil || u.Host == "" {
			return nil, false
		}
		switch u.Scheme {
		case "http", "https":
		case "dns+http", "dns+https":
			if u.Port() == "" {
				return nil, false // replicas are addresses: the port must be given
			}
		default:
			return nil, false
		}
		out = append(out, u)
	}
	return out, len(out) > 0
}

// Pool is the pool m belongs to.
func (m *Member) Pool() *Pool { return m.pool }

// Members are the replicas, in the order given.
func (p *Pool) Members() []*Member { return *p.members.Load() }

// Ejected reports whether m is resting after repeated failures.
func (p *Pool) Ejected(m *Member) bool {
	until := m.ejectedUntil.Load()
	return until != 0 && p.now().UnixNano() < until
}

// Down reports whether m's readiness check failed last (it is draining,
// or its store is away).
func (p *Pool) Down(m *Member) bool { return m.down.Load() }

// available reports whether m takes requests now.
func (p *Pool) available(m *Member) bool { return !m.down.Load() && !p.Ejected(m) }

// Check asks every replica's /readyz (active health): one that does not
// answer 200 within the client's timeout leaves the rotation until it
// does again. A replica that is draining answers 503 before it closes, so
// it stops getting requests in time.
//
// The replicas are asked at once, so one that hangs until the timeout
// does not delay the news that another is draining.
func (p *Pool) Check(ctx context.Context, client *http.Client) {
	var wg sync.WaitGroup
	for _, m := range p.Members() {
		wg.Go(func() { m.check(ctx, client) })
	}
	wg.Wait()
}

func (m *Member) check(ctx context.Context, client *http.Client) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL.String()+"/readyz", nil)
	if err != nil {
		return
	}
	resp, err := client.Do(req)
	ready := err == nil && resp.StatusCode == http.StatusOK
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	if ctx.Err() != nil {
		return // stopping: the answer says nothing about the replica
	}
	m.down.Store(!ready)
}

// Pick returns the next replica in turn that is in rotation (not ejected,
// not down), other than avoid (a replica that just failed this request;
// nil: none). When no other
// replica is in rotation it returns nil if avoid was given, and otherwise
// the next replica regardless (failing open).
func (p *Pool) Pick(avoid *Member) *Member {
	members := p.Members()
	n := uint32(len(members))
	start := p.next.Add(1)
	for i := range n {
		m := members[(start+i)%n]
		if m != avoid && p.available(m) {
			return m
		}
	}
	if avoid != nil {
		return nil
	}
	return members[start%n]
}

// Failed records a failure of m; the EjectAfter-th in a row ejects it.
func (p *Pool) Failed(m *Member) {
	if m.fails.Add(1) < p.ejectAfter {
		return
	}
	m.fails.Store(0)
	m.ejectedUntil.Store(p.now().Add(p.ejectFor).UnixNano())
	if p.OnEject != nil {
		p.OnEject(p.Name, m)
	}
}

// Succeeded records a success of m, which ends its run of failures.
func (p *Pool) Succeeded(m *Member) {
	if m.fails.Load() != 0 {
		m.fails.Store(0)
	}
}
