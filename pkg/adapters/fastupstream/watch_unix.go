//go:build unix

package fastupstream

import (
	"net"
	"syscall"
	"time"
)

// watchClient calls gone if the client on conn closes its end, and stops
// watching when stop is called (or when the client sends more, a
// pipelined request, which shows it is still there). fasthttp notices a
// client gone only when a write fails, and a stream that is waiting on its
// upstream writes nothing: without the watch, an abandoned stream would
// hold its upstream connection until the upstream wrote again.
//
// The watch peeks at the socket (nothing is read), and stop ends it with
// a read deadline in the past, which the server replaces before it reads
// the next request.
func watchClient(conn net.Conn, gone func()) (stop func()) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return func() {}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		closed := false
		err := raw.Read(func(fd uintptr) bool {
			var b [1]byte
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err == syscall.EAGAIN || err == syscall.EWOULDBLOCK { //nolint:errorlint // raw errno values, never wrapped
				return false // nothing yet: wait until the socket is readable
			}
			closed = n == 0 || err != nil
			return true
		})
		if err == nil && closed {
			gone()
		}
	}()
	return func() {
		_ = conn.SetReadDeadline(time.Unix(1, 0))
		<-ended
	}
}
