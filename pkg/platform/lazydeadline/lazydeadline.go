// Package lazydeadline wraps network connections so that moving a
// deadline later costs no timer operation.
//
// An HTTP server and its upstream client set a connection's deadlines
// several times a request: the wait for the next request, the read of
// its head, the write of its answer, the upstream's write and read, and
// the clearing of the last. Each is a timer in Go's runtime moved or
// removed under a lock, with clock readings around it (ADR 0048). Nearly
// always the new deadline is later than the one already set: the same
// bound, counted from a later moment.
//
// A Conn keeps the deadline its caller asked for and leaves the runtime's
// as it was when the new one is later (or none): the runtime's then fires
// early, at most once per bound per connection, and the Conn, seeing a
// timeout before the asked-for deadline, sets that deadline and carries
// on with the read or write. A deadline moved earlier is set at once. So
// no read or write ends sooner or later than its caller's deadline says,
// and a busy connection pays a timer operation every few seconds instead
// of several a request.
package lazydeadline

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Conn is a net.Conn whose deadlines are set lazily. It is safe for the
// same concurrent use as the connection it wraps.
type Conn struct {
	net.Conn
	read, write side
}

// New wraps c.
func New(c net.Conn) *Conn {
	lc := &Conn{Conn: c}
	lc.read.set = c.SetReadDeadline
	lc.write.set = c.SetWriteDeadline
	return lc
}

// side is one direction's deadlines.
type side struct {
	set func(time.Time) error // the wrapped connection's
	mu  sync.Mutex
	// want is the caller's deadline, armed the runtime's; the zero time is
	// none. armed is never after want while want is set.
	want, armed time.Time
}

// ask records t as the deadline and sets it on the connection only if it
// is earlier than the one there.
func (s *side) ask(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.want = t
	if t.IsZero() || !s.armed.IsZero() && !t.Before(s.armed) {
		return nil // the runtime's fires first; early reports that
	}
	if err := s.set(t); err != nil {
		return err
	}
	s.armed = t
	return nil
}

// early reports whether err is a timeout of the runtime's deadline before
// the caller's, which it then sets: the caller is to go on.
func (s *side) early(err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.want.IsZero() && !time.Now().Before(s.want) {
		return false // the caller's own deadline has passed
	}
	if s.set(s.want) != nil {
		return false
	}
	s.armed = s.want
	return true
}

// Read reads as the wrapped connection does, until the caller's deadline.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		if err == nil || !c.read.early(err) {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
}

// Write writes as the wrapped connection does, until the caller's
// deadline.
func (c *Conn) Write(p []byte) (int, error) {
	done := 0
	for {
		n, err := c.Conn.Write(p[done:])
		done += n
		if err == nil || !c.write.early(err) {
			return done, err
		}
		if done == len(p) {
			return done, nil
		}
	}
}

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	return errors.Join(c.read.ask(t), c.write.ask(t))
}

// SetReadDeadline sets the read deadline; the zero time is none.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.read.ask(t) }

// SetWriteDeadline sets the write deadline; the zero time is none.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.write.ask(t) }

// SyscallConn is the wrapped connection's raw connection, whose waits for
// readiness keep to the caller's deadlines too. It fails with
// errors.ErrUnsupported when the wrapped connection has none.
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	return rawConn{RawConn: raw, c: c}, nil
}

// rawConn waits for readiness until the caller's deadlines.
type rawConn struct {
	syscall.RawConn
	c *Conn
}

func (r rawConn) Read(f func(fd uintptr) bool) error {
	for {
		if err := r.RawConn.Read(f); err == nil || !r.c.read.early(err) {
			return err
		}
	}
}

func (r rawConn) Write(f func(fd uintptr) bool) error {
	for {
		if err := r.RawConn.Write(f); err == nil || !r.c.write.early(err) {
			return err
		}
	}
}

// Dialer wraps every connection dial makes.
func Dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return New(c), nil
	}
}

// Listener wraps every connection l accepts.
func Listener(l net.Listener) net.Listener { return listener{l} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return New(c), nil
}
