package lazydeadline_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lattice-platform/lattice/pkg/platform/lazydeadline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// counted counts the deadlines set on the connection it wraps: the timer
// operations the runtime does.
type counted struct {
	net.Conn
	reads, writes atomic.Int64
}

func (c *counted) SetReadDeadline(t time.Time) error {
	c.reads.Add(1)
	return c.Conn.SetReadDeadline(t)
}

func (c *counted) SetWriteDeadline(t time.Time) error {
	c.writes.Add(1)
	return c.Conn.SetWriteDeadline(t)
}

// pipe is a lazy connection over a counted in-memory one, and its peer.
func pipe(t *testing.T) (*lazydeadline.Conn, *counted, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	under := &counted{Conn: a}
	return lazydeadline.New(under), under, b
}

// eventually polls cond until it holds or a few seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDeadlinesMovedLaterSetNothingOnTheConnection(t *testing.T) {
	c, under, _ := pipe(t)
	for range 1000 {
		now := time.Now()
		// A server's and a client's sequence for one request.
		require.NoError(t, c.SetReadDeadline(now.Add(120*time.Second)))
		require.NoError(t, c.SetReadDeadline(now.Add(5*time.Second)))
		require.NoError(t, c.SetWriteDeadline(now.Add(60*time.Second)))
		require.NoError(t, c.SetReadDeadline(time.Time{}))
	}
	// The first request's idle bound, then its shorter read bound; after
	// that every deadline is later than the one the connection holds.
	assert.Equal(t, int64(2), under.reads.Load(), "read deadlines that reached the connection")
	assert.Equal(t, int64(1), under.writes.Load(), "write deadlines that reached the connection")
}

func TestAReadTimesOutAtTheLaterDeadlineNotTheOneSetFirst(t *testing.T) {
	c, under, _ := pipe(t)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	later := time.Now().Add(200 * time.Millisecond)
	require.NoError(t, c.SetReadDeadline(later))

	_, err := c.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.False(t, time.Now().Before(later), "the read ended before its deadline")
	// The early deadline fired and the later one was set, unless the test
	// stalled past both before reading.
	assert.LessOrEqual(t, under.reads.Load(), int64(2))
}

func TestADeadlineMovedEarlierIsSetAtOnce(t *testing.T) {
	c, _, peer := pipe(t)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Hour)))
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(5 * time.Second):
		_ = peer.Close()
		require.Error(t, <-done, "the read ends once its peer closes")
		t.Fatal("the read waited for the hour's deadline")
	}
}

func TestADeadlineInThePastInterruptsABlockedRead(t *testing.T) {
	c, _, _ := pipe(t)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Hour)))
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	// As net/http stops its background read: from another goroutine.
	require.NoError(t, c.SetReadDeadline(time.Unix(1, 0)))
	select {
	case err := <-done:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("the read was not interrupted")
	}
}

func TestAReadWithItsDeadlineClearedOutlivesTheOneSetBefore(t *testing.T) {
	c, under, peer := pipe(t)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	require.NoError(t, c.SetReadDeadline(time.Time{}))
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, 5)
		n, err := c.Read(b)
		if err != nil {
			got <- []byte(err.Error())
			return
		}
		got <- b[:n]
	}()
	// The runtime's deadline fires and the read goes on without one.
	eventually(t, "the early deadline cleared", func() bool { return under.reads.Load() == 2 })
	_, err := peer.Write([]byte("hello"))
	require.NoError(t, err)
	assert.Equal(t, "hello", string(<-got))
}

func TestAWriteCutShortByTheEarlierDeadlineFinishes(t *testing.T) {
	c, under, peer := pipe(t)
	payload := bytes.Repeat([]byte("0123456789"), 1000)
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() { n, err := c.Write(payload); done <- result{n, err} }()
	require.NoError(t, peer.SetReadDeadline(time.Now().Add(5*time.Second))) // a write that stops fails the test
	half := make([]byte, len(payload)/2)
	_, err := io.ReadFull(peer, half)
	require.NoError(t, err)
	// With half written, a deadline that the runtime holds early cuts the
	// write short; the write goes on to the later one. (The early one must
	// not pass before the later one is asked for: it is not made tiny.)
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(300*time.Millisecond)))
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(time.Hour)))
	eventually(t, "the later write deadline set", func() bool { return under.writes.Load() == 2 })
	rest, err := io.ReadAll(io.LimitReader(peer, int64(len(payload)-len(half))))
	require.NoError(t, err)
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, len(payload), r.n)
	assert.Equal(t, payload, append(half, rest...))
}

func TestAWriteTimesOutAtItsDeadline(t *testing.T) {
	c, _, _ := pipe(t)
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Millisecond)))
	deadline := time.Now().Add(50 * time.Millisecond)
	require.NoError(t, c.SetDeadline(deadline))
	_, err := c.Write([]byte("nobody reads this"))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.False(t, time.Now().Before(deadline), "the write ended before its deadline")
}

// tcpPair is a lazy TCP connection on loopback, counted, and its peer.
func tcpPair(t *testing.T) (*lazydeadline.Conn, *countedTCP, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	raw, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	peer, ok := <-accepted
	require.True(t, ok)
	t.Cleanup(func() { _ = raw.Close(); _ = peer.Close() })
	under := &countedTCP{TCPConn: raw.(*net.TCPConn)}
	return lazydeadline.New(under), under, peer
}

// countedTCP counts read deadlines and keeps the TCP connection's raw
// access.
type countedTCP struct {
	*net.TCPConn
	reads atomic.Int64
}

func (c *countedTCP) SetReadDeadline(t time.Time) error {
	c.reads.Add(1)
	return c.TCPConn.SetReadDeadline(t)
}

func TestARawWaitKeepsToTheCallersDeadline(t *testing.T) {
	c, under, peer := tcpPair(t)
	raw, err := c.SyscallConn()
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	require.NoError(t, c.SetReadDeadline(time.Time{}))
	done := make(chan error, 1)
	go func() {
		done <- raw.Read(func(fd uintptr) bool {
			var b [1]byte
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return !errors.Is(err, syscall.EAGAIN)
		})
	}()
	eventually(t, "the early deadline cleared", func() bool { return under.reads.Load() == 2 })
	_, err = peer.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, <-done, "the wait ended at the deadline that had been cleared")

	// And the caller's own deadline still ends it.
	_, err = c.Read(make([]byte, 1)) // takes the peeked byte
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	err = raw.Read(func(uintptr) bool { return false })
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

func TestAConnectionWithoutRawAccessSaysSo(t *testing.T) {
	c, _, _ := pipe(t)
	_, err := c.SyscallConn()
	require.ErrorIs(t, err, errors.ErrUnsupported)
}

func TestTheListenerWrapsWhatItAccepts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ll := lazydeadline.Listener(l)
	defer ll.Close()
	dialed := make(chan net.Conn, 1)
	go func() {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			close(dialed)
			return
		}
		dialed <- c
	}()
	c, err := ll.Accept()
	require.NoError(t, err)
	defer c.Close()
	if d, ok := <-dialed; ok {
		defer d.Close()
	}
	assert.IsType(t, &lazydeadline.Conn{}, c)
	require.NoError(t, ll.Close())
	_, err = ll.Accept()
	require.ErrorIs(t, err, net.ErrClosed)
}

// TestADialedConnectionIsWrapped: Dialer's connections set deadlines
// lazily; its dial's errors come back as they are.
func TestADialedConnectionIsWrapped(t *testing.T) {
	var under *counted
	dial := lazydeadline.Dialer(func(_ context.Context, network, _ string) (net.Conn, error) {
		if network != "pipe" {
			return nil, net.UnknownNetworkError(network)
		}
		a, b := net.Pipe()
		t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
		under = &counted{Conn: a}
		return under, nil
	})
	c, err := dial(context.Background(), "pipe", "")
	require.NoError(t, err)
	now := time.Now()
	require.NoError(t, c.SetReadDeadline(now.Add(time.Minute)))
	require.NoError(t, c.SetReadDeadline(now.Add(2*time.Minute)))
	require.EqualValues(t, 1, under.reads.Load(), "the later deadline is not set on the connection")
	_, err = dial(context.Background(), "tcp", "")
	require.ErrorAs(t, err, new(net.UnknownNetworkError))
}
