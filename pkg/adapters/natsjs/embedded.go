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

// Close stops the server after flushing its stores; see Shutdown.
func (e *Embedded) Close() { Shutdown(e.srv, ShutdownWait) }

// ShutdownWait is how long Shutdown waits for clients and requests.
const ShutdownWait = 5 * time.Second

// Shutdown stops an in-process server without leaving a stream half made,
// and returns when it has stopped.
//
// nats-server 2.15 stops the streams it knows of when it shuts down, but a
// stream whose create request is being served at that moment registers
// itself afterwards and is never stopped: its store's goroutines and open
// files outlive the server. A client that gives up on EnsureStreams (its
// context ends) and closes leaves exactly such a request behind. So
// Shutdown first waits, up to wait, for the clients to leave (the server
// has then queued every request they sent) and for the JetStream API
// requests in flight to be answered.
func Shutdown(srv *natsserver.Server, wait time.Duration) {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) && (srv.NumClients() > 0 || apiInflight(srv) > 0) {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
}

// apiInflight is the number of JetStream API requests srv has queued or is
// serving; 0 without JetStream.
func apiInflight(srv *natsserver.Server) uint64 {
	info, err := srv.Jsz(&natsserver.JSzOptions{})
	if err != nil || info == nil {
		return 0
	}
	return info.API.Inflight
}
