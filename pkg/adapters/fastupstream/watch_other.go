//go:build !unix

package fastupstream

import "net"

// watchClient does not watch where the socket cannot be peeked at: an
// abandoned stream is noticed at its next write.
func watchClient(net.Conn, func()) (stop func()) { return func() {} }
