// Package freeport chooses loopback addresses for servers that a test or a
// bench program starts later, by name, in another process: a monolith, a
// compose project's published port, a service told its address in its
// environment. A server started in the same process binds port 0 instead,
// which has no race at all.
//
// A port is drawn from below the kernel's ephemeral range. The kernel hands
// ports inside that range to every port-0 listener and to every outgoing
// connection, so a port taken from it (as net.Listen(":0") gives) can be
// taken again by any of those between this check and the server's bind; a
// migration test lost its processing port that way under CI's load. Below
// the range only another explicit choice can collide, and the check catches
// one that has already bound.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowest is the least port drawn: above the registered ports that machines
// like these run services on (PostgreSQL 5432, Redis 6379, NATS 4222…).
const lowest = 20000

// tries bounds the draws before Addr gives up, so that a machine whose low
// ports are all taken fails fast with a reason rather than looping.
const tries = 64

// rangeFile holds the kernel's ephemeral range, "low high".
const rangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// Addr is a 127.0.0.1 address, host:port, that nothing listens on now and
// that the kernel will not hand out by itself.
func Addr() (string, error) {
	high, err := ephemeralLow()
	if err != nil {
		return "", err
	}
	if high <= lowest {
		return "", fmt.Errorf("freeport: the ephemeral range starts at %d, leaving no ports above %d", high, lowest)
	}
	return addrIn(lowest, high)
}

// addrIn is Addr with its port drawn from [low, high).
func addrIn(low, high int) (string, error) {
	var last error
	for range tries {
		port := low + rand.IntN(high-low)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			last = err
			continue
		}
		if err := l.Close(); err != nil {
			return "", err
		}
		return addr, nil
	}
	return "", fmt.Errorf("freeport: no free port in %d draws from [%d, %d): %w", tries, low, high, last)
}

// ephemeralLow is the first port of the kernel's ephemeral range, or
// Linux's default first port where the range cannot be read; read once,
// as nothing here changes it while tests run.
var ephemeralLow = sync.OnceValues(readEphemeralLow)

func readEphemeralLow() (int, error) {
	b, err := os.ReadFile(rangeFile)
	if errors.Is(err, os.ErrNotExist) {
		return 32768, nil
	}
	if err != nil {
		return 0, err
	}
	return parseLow(string(b))
}

// parseLow reads the first port of an ip_local_port_range line.
func parseLow(s string) (int, error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return 0, fmt.Errorf("freeport: %s holds %q, not two ports", rangeFile, s)
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil || low < 1 || low > 65535 {
		return 0, fmt.Errorf("freeport: %s starts with %q, not a port", rangeFile, fields[0])
	}
	return low, nil
}
