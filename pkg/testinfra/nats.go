package testinfra

import (
	"os"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
)

// NATS returns the URL of a NATS server with JetStream for t alone: the one
// in TEST_NATS_URL if set, otherwise an embedded nats-server 2.15 on a
// random loopback port with its store in t.TempDir(), shut down when t ends.
func NATS(t testing.TB) string {
	t.Helper()
	if url := os.Getenv("TEST_NATS_URL"); url != "" {
		return url
	}
	srv, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatalf("testinfra: nats server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("testinfra: nats server did not start")
	}
	t.Cleanup(func() { natsjs.Shutdown(srv, natsjs.ShutdownWait) })
	return srv.ClientURL()
}
