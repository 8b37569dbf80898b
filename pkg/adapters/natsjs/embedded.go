package natsjs

import (
	"errors"
	"fmt"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// Embedded is an in-process nats-server with JetStream, used when no
// NATS_URL is configured so that `make run` needs no broker. It listens on
// a random loopback port and keeps its streams in storeDir across restarts.
type Embedded struct {
	srv *natsserver.Server
}

// StartEmbedded starts the server and waits until it accepts connections.
func StartEmbedded(storeDir string) (*Embedded, error) {
	srv, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "lattice-embedded", Host: "127.0.0.1", Port: -1,
		JetStream: true, StoreDir: storeDir, NoLog: true, NoSigs: true,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: embedded server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("nats: embedded server did not start within 10s")
	}
	return &Embedded{srv: srv}, nil
}

// URL is the address clients connect to.
func (e *Embedded) URL() string { return e.srv.ClientURL() }

// Close stops the server after flushing its stores.
func (e *Embedded) Close() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
