// Package clientaddr tells who sent a request. The direct peer is the
// client unless it is one of the configured trusted proxies; then the
// client is the right-most hop of X-Forwarded-For (or Forwarded) that is
// not itself a trusted proxy, the first address that a proxy of ours saw
// and that an outsider cannot have forged. The scheme (for Secure cookies)
// comes from the connection, or from X-Forwarded-Proto when a trusted proxy
// sent it.
package clientaddr

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/realclientip/realclientip-go"
)

// Proxies is a set of trusted proxy address ranges. The nil or empty set
// trusts no one: every request is taken at its peer address.
type Proxies struct {
	ranges []net.IPNet
	xff    realclientip.RightmostTrustedRangeStrategy
	fwd    realclientip.RightmostTrustedRangeStrategy
}

// Loopback is the set an all-in-one process trusts: the gateway it runs
// reaches the other services from 127.0.0.1 or ::1. Exact addresses, not
// 127.0.0.0/8, so a client bound to 127.0.0.2 is never a proxy.
const Loopback = "127.0.0.1,::1"

// Parse reads a comma-separated list of addresses and CIDR ranges
// ("10.0.0.0/8, 192.0.2.7"). "" and "none" trust no one.
func Parse(list string) (*Proxies, error) {
	list = strings.TrimSpace(list)
	if list == "" || strings.EqualFold(list, "none") {
		return &Proxies{}, nil
	}
	var items []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			items = append(items, s)
		}
	}
	ranges, err := realclientip.AddressesAndRangesToIPNets(items...)
	if err != nil {
		return nil, fmt.Errorf("want addresses or CIDR ranges separated by commas: %w", err)
	}
	p := &Proxies{ranges: ranges}
	if p.xff, err = realclientip.NewRightmostTrustedRangeStrategy("X-Forwarded-For", ranges); err != nil {
		return nil, err
	}
	if p.fwd, err = realclientip.NewRightmostTrustedRangeStrategy("Forwarded", ranges); err != nil {
		return nil, err
	}
	return p, nil
}

// MustParse is Parse for constants and tests.
func MustParse(list string) *Proxies {
	p, err := Parse(list)
	if err != nil {
		panic(err)
	}
	return p
}

// String lists the ranges, for logs.
func (p *Proxies) String() string {
	if p == nil || len(p.ranges) == 0 {
		return "none"
	}
	out := make([]string, len(p.ranges))
	for i, r := range p.ranges {
		out[i] = r.String()
	}
	return strings.Join(out, ",")
}

// Client is what the edge believes about a request's sender.
type Client struct {
	// Addr is the client's IP address, without a port.
	Addr string
	// HTTPS says the client used TLS to reach the first proxy of ours (or
	// us).
	HTTPS bool
	// ViaProxy says a trusted proxy forwarded the request.
	ViaProxy bool
}

// Resolve works out the client of r.
func (p *Proxies) Resolve(r *http.Request) Client {
	return p.ResolvePeer(r.RemoteAddr, r.TLS != nil, func() http.Header { return r.Header })
}

// ResolvePeer works out the client of a request that came from remote
// (host:port), over TLS or not, for a server that does not build an
// http.Request; header is asked for the forwarding headers only when
// remote is a trusted proxy.
func (p *Proxies) ResolvePeer(remote string, tls bool, header func() http.Header) Client {
	peer := peerAddr(remote)
	c := Client{Addr: peer, HTTPS: tls}
	if !p.trusts(peer) {
		return c
	}
	h := header()
	c.ViaProxy = true
	strategy := p.xff
	if len(h["X-Forwarded-For"]) == 0 {
		strategy = p.fwd
	}
	if ip := strategy.ClientIP(h, remote); ip != "" {
		c.Addr = ip
	}
	if proto := h.Get("X-Forwarded-Proto"); proto != "" {
		first, _, _ := strings.Cut(proto, ",")
		c.HTTPS = strings.EqualFold(strings.TrimSpace(first), "https")
	}
	return c
}

func (p *Proxies) trusts(addr string) bool {
	if p == nil || len(p.ranges) == 0 {
		return false
	}
	ip := net.ParseIP(addr)
	if ip == nil {
		return false
	}
	for _, r := range p.ranges {
		if r.Contains(ip) {
			return true
		}
	}
	return false
}

func peerAddr(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	if i := strings.IndexByte(host, '%'); i >= 0 { // an IPv6 zone
		host = host[:i]
	}
	return host
}

type ctxKey struct{}

// Middleware resolves every request's client once and keeps it in the
// context for From.
func Middleware(p *Proxies) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := p.Resolve(r)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
		})
	}
}

// From returns the client the middleware resolved, or, for a request that
// did not pass through it, the peer with no proxy trusted.
func From(r *http.Request) Client {
	if c, ok := r.Context().Value(ctxKey{}).(Client); ok {
		return c
	}
	return (*Proxies)(nil).Resolve(r)
}
