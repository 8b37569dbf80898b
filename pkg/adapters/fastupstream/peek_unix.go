//go:build unix

package fastupstream

import "syscall"

// peekAt looks at the socket without reading or waiting. Nothing to read
// yet (EAGAIN) means the connection is alive; an end of stream, an error,
// or bytes no request asked for mean it is closed, or as good as. It
// always reports done, so RawConn.Read never waits.
func (c *trackedConn) peekAt(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	c.closed = err != syscall.EAGAIN && err != syscall.EWOULDBLOCK //nolint:errorlint // raw errno values, never wrapped
	return true
}
