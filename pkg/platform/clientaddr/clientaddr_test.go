package clientaddr_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/clientaddr"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	proxies := clientaddr.MustParse("10.0.0.0/8, 192.0.2.7")
	tests := []struct {
		name    string
		proxies *clientaddr.Proxies
		peer    string
		header  http.Header
		tls     bool
		want    clientaddr.Client
	}{
		{name: "no proxies: the peer, forwarding headers ignored", proxies: clientaddr.MustParse(""), peer: "203.0.113.9:5000",
			header: http.Header{"X-Forwarded-For": {"198.51.100.1"}, "X-Forwarded-Proto": {"https"}},
			want:   clientaddr.Client{Addr: "203.0.113.9"}},
		{name: "untrusted peer cannot forge an address", proxies: proxies, peer: "203.0.113.9:5000",
			header: http.Header{"X-Forwarded-For": {"198.51.100.1"}, "Forwarded": {"for=198.51.100.2"}},
			want:   clientaddr.Client{Addr: "203.0.113.9"}},
		{name: "trusted peer: right-most untrusted hop", proxies: proxies, peer: "10.1.2.3:5000",
			header: http.Header{"X-Forwarded-For": {"198.51.100.66, 203.0.113.9, 10.9.9.9"}},
			want:   clientaddr.Client{Addr: "203.0.113.9", ViaProxy: true}},
		{name: "several X-Forwarded-For lines read as one list", proxies: proxies, peer: "192.0.2.7:5000",
			header: http.Header{"X-Forwarded-For": {"198.51.100.66", "203.0.113.10"}},
			want:   clientaddr.Client{Addr: "203.0.113.10", ViaProxy: true}},
		{name: "Forwarded when there is no X-Forwarded-For", proxies: proxies, peer: "10.1.2.3:5000",
			header: http.Header{"Forwarded": {`for="[2001:db8::17]:4711";proto=https, for=10.2.2.2`}},
			want:   clientaddr.Client{Addr: "2001:db8::17", ViaProxy: true}},
		{name: "every hop trusted: the peer", proxies: proxies, peer: "10.1.2.3:5000",
			header: http.Header{"X-Forwarded-For": {"10.0.0.1"}},
			want:   clientaddr.Client{Addr: "10.1.2.3", ViaProxy: true}},
		{name: "garbage right-most hop: the peer", proxies: proxies, peer: "10.1.2.3:5000",
			header: http.Header{"X-Forwarded-For": {"203.0.113.9, not-an-address"}},
			want:   clientaddr.Client{Addr: "10.1.2.3", ViaProxy: true}},
		{name: "scheme from a trusted proxy", proxies: proxies, peer: "10.1.2.3:5000",
			header: http.Header{"X-Forwarded-For": {"203.0.113.9"}, "X-Forwarded-Proto": {"HTTPS"}},
			want:   clientaddr.Client{Addr: "203.0.113.9", HTTPS: true, ViaProxy: true}},
		{name: "a trusted proxy can say the client used plain HTTP", proxies: proxies, peer: "10.1.2.3:5000", tls: true,
			header: http.Header{"X-Forwarded-Proto": {"http"}},
			want:   clientaddr.Client{Addr: "10.1.2.3", ViaProxy: true}},
		{name: "TLS on our own listener", proxies: nil, peer: "[::1]:5000", tls: true,
			header: http.Header{"X-Forwarded-Proto": {"http"}},
			want:   clientaddr.Client{Addr: "::1", HTTPS: true}},
		{name: "loopback default trusts 127.0.0.1 but not 127.0.0.2", proxies: clientaddr.MustParse(clientaddr.Loopback), peer: "127.0.0.2:5000",
			header: http.Header{"X-Forwarded-For": {"198.51.100.1"}},
			want:   clientaddr.Client{Addr: "127.0.0.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.peer
			r.Header = tt.header
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			require.Equal(t, tt.want, tt.proxies.Resolve(r))
		})
	}
}

func TestParseRefusesNonsense(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0.0/33", "gateway", "10.0.0.1,,x"} {
		_, err := clientaddr.Parse(bad)
		require.Error(t, err, bad)
	}
	p, err := clientaddr.Parse(" none ")
	require.NoError(t, err)
	require.Equal(t, "none", p.String())
	require.Equal(t, "127.0.0.1/32,::1/128", clientaddr.MustParse(clientaddr.Loopback).String())
}

// A forwarding header as long as a listener accepts is read in bounded
// time and still yields the right-most untrusted hop.
func TestLongForwardingChain(t *testing.T) {
	t.Parallel()
	p := clientaddr.MustParse("10.0.0.0/8")
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.1:1"
	r.Header.Set("X-Forwarded-For", strings.Repeat("198.51.100.1, ", 4000)+"203.0.113.5")
	require.Equal(t, "203.0.113.5", p.Resolve(r).Addr)
}

func TestMiddlewareKeepsTheClient(t *testing.T) {
	t.Parallel()
	var got clientaddr.Client
	h := clientaddr.Middleware(clientaddr.MustParse("127.0.0.1"))(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = clientaddr.From(r)
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:9"
	r.Header.Set("X-Forwarded-For", "203.0.113.5")
	h.ServeHTTP(httptest.NewRecorder(), r)
	require.Equal(t, "203.0.113.5", got.Addr)

	// Without the middleware: the peer.
	r.RemoteAddr = "127.0.0.1:9"
	require.Equal(t, "127.0.0.1", clientaddr.From(r).Addr)
}

// BenchmarkResolve is the per-request cost on the hot path: at the edge
// (no proxy trusted: the peer) and behind a trusted proxy.
func BenchmarkResolve(b *testing.B) {
	for _, bc := range []struct {
		name    string
		proxies *clientaddr.Proxies
	}{{"edge", clientaddr.MustParse("")}, {"behind-proxy", clientaddr.MustParse("10.0.0.0/8")}} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "10.0.0.1:5000"
			r.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.5")
			b.ReportAllocs()
			for b.Loop() {
				if bc.proxies.Resolve(r).Addr == "" {
					b.Fatal("no address")
				}
			}
		})
	}
}
