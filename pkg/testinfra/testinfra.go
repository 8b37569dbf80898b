// Package testinfra gives tests real infrastructure — PostgreSQL, a
// MySQL-protocol server, Redis and NATS JetStream — in this order of
// preference:
//
//  1. a server named by an environment variable (TEST_POSTGRES_DSN,
//     TEST_MYSQL_DSN, TEST_REDIS_URL, TEST_NATS_URL); CI points the first
//     three at the machine's own servers for fast unit and adapter tests;
//  2. a container started with testcontainers-go when DOCKER_HOST is set,
//     one per package and shared by its tests;
//  3. otherwise the test is skipped with a message — except when CI is set,
//     where a missing dependency fails the test instead.
//
// Every test gets its own database (or Redis key prefix, or NATS server), so
// tests never see each other's data and may run in parallel. NATS defaults to
// an embedded nats-server 2.15 on a random port rather than the machine's
// old 2.9 server.
package testinfra

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

// Run is for TestMain: it runs the package's tests, stops any containers
// they started, and then fails the run if a goroutine the tests started is
// still running (leakcheck).
func Run(m *testing.M) {
	code := m.Run()
	stopContainers()
	if code == 0 {
		if err := leakcheck.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "testinfra: goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// UseContainers forces the testcontainers path even when DSN variables are
// set: contract tests call it so the contract-test gate always runs on
// throwaway servers.
func UseContainers() { forceContainers.Store(true) }

var containers struct {
	sync.Mutex
	stops []func(context.Context) error
}

// AtExit runs f when the package's tests have finished (Run calls it),
// for fixtures shared by a package's tests, such as a deployment.
func AtExit(f func(context.Context) error) { registerStop(f) }

func registerStop(f func(context.Context) error) {
	containers.Lock()
	defer containers.Unlock()
	containers.stops = append(containers.stops, f)
}

func stopContainers() {
	containers.Lock()
	defer containers.Unlock()
	for _, stop := range containers.stops {
		if err := stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "testinfra: stop container:", err)
		}
	}
	containers.stops = nil
}

// unavailable skips t, or fails it under CI, when no source for a dependency
// exists.
func unavailable(t testing.TB, what, envVar string) {
	t.Helper()
	msg := fmt.Sprintf("%s unavailable: set %s or DOCKER_HOST (../shared/containers/up, then . /run/lattice-docker.env)", what, envVar)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// source says where a dependency comes from for this test run.
type source int

const (
	fromEnv source = iota
	fromContainer
	fromNowhere
)

func pick(envVar string) (string, source) {
	if v := os.Getenv(envVar); v != "" && !forceContainers.Load() {
		return v, fromEnv
	}
	if os.Getenv("DOCKER_HOST") != "" {
		return "", fromContainer
	}
	return "", fromNowhere
}

func getenv(k string) string { return os.Getenv(k) }

func itoa(n int) string { return strconv.Itoa(n) }

// uniqueName returns a short name unique to this test, usable as a database
// name or key prefix: a sanitised test name plus random bits.
func uniqueName(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, t.Name())
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return "t_" + name + "_" + hex.EncodeToString(b[:])
}
