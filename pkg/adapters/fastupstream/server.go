package fastupstream

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// The variants here serve a fasthttp server's requests (the gateway's
// fast front, pkg/platform/fastfront): the server's request is sent
// itself, and the answer is put into the server's response.

// UseRequest readies in, a fasthttp server's request whose body was read
// whole (at most MaxBufferedBody), to be sent as it is rather than
// copied: the hop-by-hop headers and those named in drop (any case) are
// deleted from it. The caller then sets what the upstream should be told
// (X-Forwarded-*, the request id) on Header, so in's headers are the
// upstream's from then on: read what is needed of the client's first.
// Release leaves in to its server. A copy cost 3,000 instructions a
// request, 5 % of the gateway's (bench/gateway -callgrind): its head
// copied, its URI parsed again. The server has taken what it needs of
// in's head (whether to close the connection, the protocol version)
// before its handler runs.
func (c *Client) UseRequest(in *fasthttp.Request, drop ...string) Request {
	// Most requests carry none of them, and each Del normalises its name
	// and scans the headers: 14 % of the gateway's instructions went to
	// header names (bench/gateway -callgrind). One walk over the names
	// tells.
	if carries(&in.Header, drop) {
		if connection := in.Header.Peek("Connection"); len(connection) > 0 {
			for f := range strings.SplitSeq(string(connection), ",") {
				if f = strings.TrimSpace(f); f != "" {
					in.Header.Del(f)
				}
			}
		}
		for _, k := range hopByHopNames {
			in.Header.Del(k)
		}
		for _, k := range drop {
			in.Header.Del(k)
		}
	}
	// The client's connection, not ours: the server has read it already.
	in.Header.ResetConnectionClose()
	return Request{req: in}
}

// carries reports whether h holds a hop-by-hop header or one named in
// drop (any case). It reads the names as h keeps them, which are those
// sent on: a server normalises each name it reads, so one switch tells
// a hop-by-hop name. A scan of the header block as received, each line's
// name compared in any case, cost 1,300 instructions a request against
// 620 (bench/gateway -callgrind).
func carries(h *fasthttp.RequestHeader, drop []string) bool {
	for k := range h.All() {
		if hopByHop(lent(k)) {
			return true
		}
		for _, d := range drop {
			if asciiEqualFold(k, d) {
				return true
			}
		}
	}
	return false
}

// lent is b as a string for a call that keeps nothing of it: a header
// name to look up. string(b) copied each name (hopByHop is too big to
// inline, where the copy would have been left out).
func lent(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// asciiEqualFold reports whether b and s are the same ASCII text but for
// case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if b[i]|0x20 != s[i]|0x20 || !isLetter(s[i]) && b[i] != s[i] {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// Header is the request's header, for the caller's additions.
func (r Request) Header() *fasthttp.RequestHeader { return &r.req.Header }

// WriteTo puts the answer into c's response and releases it once it has
// been sent: the head at once, without hop-by-hop headers and those the
// Options drop; a body of known length up to MaxBufferedBody copied; a
// longer one or a stream left for the server to send as it reads it (a
// stream chunked, each read flushed). done, when not nil, is told the
// body bytes sent once the answer is out (before WriteTo returns for a
// copied body, later for one the server sends). While a body is sent, a
// client that goes away closes the upstream connection, as net/http's
// reverse proxy does. An error means the copied body could not be read
// and nothing was sent.
func (a Answer) WriteTo(c *fasthttp.RequestCtx, done Sent) error {
	resp, out := a.resp, &c.Response
	out.SetStatusCode(resp.StatusCode())
	// The names the answer's Connection headers list (each line of them:
	// a Peek would see the first only, and normalise its name and search
	// for it again).
	var connection [][]byte
	for k, v := range resp.Header.All() {
		if string(k) == "Connection" {
			connection = append(connection, v)
		}
	}
	// Names as parsed are canonical already: AddBytesKV, not AddBytesV,
	// which normalised each again, and no string of each.
	for k, v := range resp.Header.All() {
		if string(k) == "Content-Length" || hopByHop(lent(k)) || a.c.drop.has(k) || listed(connection, k) {
			continue
		}
		out.Header.AddBytesKV(k, v)
	}
	length := resp.Header.ContentLength()
	body := resp.BodyStream()
	switch {
	case body == nil:
		if length >= 0 {
			out.Header.SetContentLength(length) // a HEAD answer's
		}
		fasthttp.ReleaseResponse(resp)
		if done != nil {
			done.AnswerSent(0)
		}
		return nil
	case length >= 0 && length <= MaxBufferedBody:
		defer fasthttp.ReleaseResponse(resp)
		// Read straight into a buffer that the server's response then
		// takes (SwapBody), giving back its own for the next answer: the
		// body is copied once, where a copy through a buffer into the
		// response's was two.
		bp := answerBodies.Get().(*[]byte)
		defer answerBodies.Put(bp)
		b := slices.Grow((*bp)[:0], length)[:length]
		_, err := io.ReadFull(body, b)
		if closeErr := resp.CloseBodyStream(); err == nil {
			err = closeErr
		}
		if err != nil {
			*bp = b[:0]
			return err
		}
		*bp = out.SwapBody(b)[:0]
		if done != nil {
			done.AnswerSent(int64(length))
		}
		return nil
	default:
		s := &streamedBody{resp: resp, body: body, done: done}
		s.stopWatch = func() {}
		if closer, ok := body.(fasthttp.ReadCloserWithError); ok {
			// The same close as Write's when its client leaves.
			s.stopWatch = watchClient(c.Conn(), func() { _ = closer.CloseWithError(context.Canceled) })
		}
		out.SetBodyStream(s, length)
		return nil
	}
}

// Sent is what WriteTo tells, once, the bytes of an answer's body sent.
// It is an interface rather than a function so that a caller's request,
// a pointer already, can be told without a closure allocated for each.
type Sent interface{ AnswerSent(n int64) }

// answerBodies recycles the buffers answers of known length are read into
// (WriteTo), each traded for the one the server's response held.
var answerBodies = sync.Pool{New: func() any { return new([]byte) }}

// streamedBody is an answer's body the server reads as it sends it; Close
// (the server's, once done or when the client left) releases the answer,
// closing its upstream connection if the body was not read to its end.
type streamedBody struct {
	resp      *fasthttp.Response
	body      io.Reader
	sent      int64
	done      Sent
	stopWatch func()
}

func (b *streamedBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.sent += int64(n)
	return n, err
}

func (b *streamedBody) Close() error {
	b.stopWatch()
	err := b.resp.CloseBodyStream()
	fasthttp.ReleaseResponse(b.resp)
	if b.done != nil {
		b.done.AnswerSent(b.sent)
	}
	return err
}
