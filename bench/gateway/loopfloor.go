package main

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/lesismal/nbio"
)

// serveEventLoop is the "epoll" floor: a reverse proxy on event loops
// instead of a goroutine per connection, the way nginx is built. Two
// pollers (nginx runs two workers here) own every client and upstream
// socket; a readable socket is read on its poller's goroutine and its
// bytes written straight on to the other side, so a request costs no
// goroutine switch, no channel and no futex. Idle upstream connections
// wait in a pool for the next request, as nginx's keep-alive does.
//
// It forwards bytes as they are: it finds where each request and answer
// ends (Content-Length only; a chunked message closes the connection) and
// does nothing else, not even the hop-by-hop header handling a real proxy
// needs. What it measures is what the engine costs. It bounds what it
// holds: a head of 16 KiB, a message of 1 MiB, and 4 MiB sent ahead of
// the answers a client waits for; past them it closes the connection.
func serveEventLoop(addr, upstream string) error {
	if _, err := startEventLoop(addr, upstream); err != nil {
		return err
	}
	select {} // until the harness kills this process
}

// startEventLoop starts the event-loop proxy on addr ("host:0" for any
// port: Addr says which) in front of upstream, a host:port.
func startEventLoop(addr, upstream string) (*loopProxy, error) {
	p := &loopProxy{upstream: upstream, sessions: make(map[*nbio.Conn]any)}
	p.engine = nbio.NewEngine(nbio.Config{
		Network:            "tcp",
		Addrs:              []string{addr},
		NPoller:            2,
		ReadBufferSize:     64 << 10,
		MaxWriteBufferSize: 4 << 20,
		Listen: func(network, addr string) (net.Listener, error) {
			ln, err := net.Listen(network, addr)
			if err == nil {
				p.addr = ln.Addr().String()
			}
			return ln, err
		},
	})
	p.engine.OnData(func(c *nbio.Conn, data []byte) {
		switch s := p.session(c).(type) {
		case *loopClient:
			p.fromClient(s, data)
		case *loopUpstream:
			p.fromUpstream(s, data)
		}
	})
	p.engine.OnClose(func(c *nbio.Conn, _ error) {
		switch s := p.forget(c).(type) {
		case *loopClient:
			s.mu.Lock()
			s.closed = true
			up := s.up
			s.mu.Unlock()
			if up != nil {
				_ = up.conn.Close() // its answer has nobody to go to
			}
		case *loopUpstream:
			s.mu.Lock()
			cl := s.client
			s.mu.Unlock()
			if cl != nil {
				_ = cl.conn.Close()
			}
		}
	})
	if err := p.engine.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// Addr is the address the proxy listens on.
func (p *loopProxy) Addr() string { return p.addr }

// Stop closes every connection and stops the pollers.
func (p *loopProxy) Stop() { p.engine.Stop() }

type loopProxy struct {
	upstream string
	engine   *nbio.Engine
	addr     string

	// Each connection's state is found in a map under a lock, not in
	// nbio's per-connection session: a connection is opened on one
	// goroutine and read on another, and only the kernel's epoll orders
	// the two, which the race detector cannot see.
	mu       sync.Mutex
	sessions map[*nbio.Conn]any // *loopClient or *loopUpstream
	idle     []*loopUpstream
}

// session is c's state; a connection seen for the first time was
// accepted, since upstream connections are registered when dialled.
func (p *loopProxy) session(c *nbio.Conn) any {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sessions[c]
	if !ok {
		s = &loopClient{conn: c}
		p.sessions[c] = s
	}
	return s
}

// loopClient is an accepted connection. Its requests go one at a time:
// a pipelined request waits in pending until the answer before it has
// gone.
type loopClient struct {
	conn *nbio.Conn

	mu      sync.Mutex
	pending []byte
	up      *loopUpstream // the upstream serving its request now
	closed  bool
}

// loopUpstream is a connection to the upstream and the answer it is
// reading.
type loopUpstream struct {
	conn *nbio.Conn

	mu     sync.Mutex
	client *loopClient
	answer []byte
}

func (p *loopProxy) fromClient(cl *loopClient, data []byte) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if len(cl.pending)+len(data) > maxPending {
		_ = cl.conn.Close()
		return
	}
	cl.pending = append(cl.pending, data...)
	p.sendNext(cl)
}

// sendNext sends cl's next whole request to an upstream connection when
// none is in flight. cl.mu is held.
func (p *loopProxy) sendNext(cl *loopClient) {
	if cl.up != nil || cl.closed {
		return
	}
	n, err := messageLength(cl.pending)
	if err != nil {
		_ = cl.conn.Close()
		return
	}
	if n == 0 { // not whole yet
		return
	}
	up, err := p.take()
	if err != nil {
		_, _ = cl.conn.Write([]byte("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		_ = cl.conn.Close()
		return
	}
	up.mu.Lock()
	up.client = cl
	up.mu.Unlock()
	cl.up = up
	_, _ = up.conn.Write(cl.pending[:n])
	cl.pending = cl.pending[:copy(cl.pending, cl.pending[n:])]
}

func (p *loopProxy) fromUpstream(up *loopUpstream, data []byte) {
	up.mu.Lock()
	cl := up.client
	var whole []byte
	if len(up.answer) == 0 {
		whole = data // the usual case: the answer came in one read
	} else {
		up.answer = append(up.answer, data...)
		whole = up.answer
	}
	n, err := messageLength(whole)
	if err != nil || cl == nil || (n != 0 && n != len(whole)) {
		up.mu.Unlock()
		_ = up.conn.Close() // an answer nobody asked for, or more than one
		return
	}
	if n == 0 {
		if len(up.answer) == 0 {
			up.answer = append(up.answer, data...)
		}
		up.mu.Unlock()
		return
	}
	up.client = nil
	up.mu.Unlock()
	_, _ = cl.conn.Write(whole)
	up.answer = up.answer[:0]
	p.give(up)

	cl.mu.Lock()
	cl.up = nil
	p.sendNext(cl)
	cl.mu.Unlock()
}

// take is an idle upstream connection, or a new one.
func (p *loopProxy) take() (*loopUpstream, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		up := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return up, nil
	}
	p.mu.Unlock()
	conn, err := net.DialTimeout("tcp", p.upstream, time.Second)
	if err != nil {
		return nil, err
	}
	up := &loopUpstream{}
	nc, err := nbio.NBConn(conn)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	up.conn = nc
	p.mu.Lock()
	p.sessions[nc] = up
	p.mu.Unlock()
	if _, err := p.engine.AddConn(nc); err != nil {
		return nil, err
	}
	return up, nil
}

func (p *loopProxy) give(up *loopUpstream) {
	p.mu.Lock()
	p.idle = append(p.idle, up)
	p.mu.Unlock()
}

// forget drops c's state and returns it.
func (p *loopProxy) forget(c *nbio.Conn) any {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sessions[c]
	delete(p.sessions, c)
	if up, ok := s.(*loopUpstream); ok {
		for i, u := range p.idle {
			if u == up {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				break
			}
		}
	}
	return s
}

// Limits on what a connection may hold: a message's head and the whole
// message, and what a client may send ahead of the answers it waits for.
const (
	maxHead    = 16 << 10
	maxMessage = 1 << 20
	maxPending = 4 << 20
)

var (
	errChunked     = errors.New("a chunked message")
	errBadLength   = errors.New("a bad or repeated Content-Length")
	errHeadTooBig  = errors.New("a head over 16 KiB")
	errMessageSize = errors.New("a message over 1 MiB")
)

// messageLength is the length of the HTTP/1.1 message at the start of b
// when b holds all of it, and 0 when it does not yet.
func messageLength(b []byte) (int, error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 && len(b) > maxHead || end > maxHead {
		return 0, errHeadTooBig
	}
	if end < 0 {
		return 0, nil
	}
	head := b[:end+2]
	body := -1
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil || n < 0 || body >= 0 {
				return 0, errBadLength
			}
			body = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, errChunked
		}
	}
	n := end + 4 + max(body, 0)
	switch {
	case n > maxMessage:
		return 0, errMessageSize
	case n <= len(b):
		return n, nil
	}
	return 0, nil
}
