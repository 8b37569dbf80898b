package lazydeadline_test

import (
	"net"
	"testing"
	"time"

	"github.com/lattice-platform/lattice/pkg/platform/lazydeadline"
)

// BenchmarkRequestsDeadlines sets the deadlines a proxied request sets on
// its client's connection (the idle wait, the head's read, the answer's
// write) on a loopback TCP connection, as it is and wrapped.
func BenchmarkRequestsDeadlines(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			defer c.Close()
			_, _ = c.Read(make([]byte, 1)) // until the benchmark closes its end
		}
	}()
	raw, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	for _, bc := range []struct {
		name string
		c    net.Conn
	}{{"tcp", raw}, {"lazy", lazydeadline.New(raw)}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				now := time.Now()
				_ = bc.c.SetReadDeadline(now.Add(120 * time.Second))
				_ = bc.c.SetReadDeadline(now.Add(5 * time.Second))
				_ = bc.c.SetWriteDeadline(now.Add(60 * time.Second))
			}
		})
	}
}
