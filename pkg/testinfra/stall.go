package testinfra

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Stalling is a loopback TCP relay to a server that can be told to stop
// passing the server's replies on, while keeping every connection open:
// a server that takes requests and never answers, or a reply lost while a
// cluster node restarts. Tests use it to cross a client's per-call timeout.
type Stalling struct {
	Addr    string // where clients connect
	stalled chan struct{}
	once    sync.Once
}

// Stall relays to target on a loopback port until t ends.
func Stall(t testing.TB, target string) *Stalling {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &Stalling{Addr: l.Addr().String(), stalled: make(chan struct{})}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, client, server)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(server, client) })
			wg.Go(func() { s.relay(client, server) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		s.Stall() // releases nothing: closing the connections ends the relays
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

// relay copies the server's bytes to the client until Stall; then it
// reads and drops them, so the server never blocks and the client never
// hears.
func (s *Stalling) relay(client, server net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			select {
			case <-s.stalled:
			default:
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			client.Close()
			return
		}
	}
}

// Stall stops passing replies on, from now on.
func (s *Stalling) Stall() { s.once.Do(func() { close(s.stalled) }) }

// StallingNATS is NATS(t) behind a Stalling relay: the URL to connect
// to, and the relay.
func StallingNATS(t testing.TB) (string, *Stalling) {
	t.Helper()
	relay := Stall(t, strings.TrimPrefix(NATS(t), "nats://"))
	return "nats://" + relay.Addr, relay
}
