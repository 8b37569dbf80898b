package testinfra

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// StoppableNATS is a NATS 2.15 JetStream server in a container whose client
// port is pinned on 127.0.0.1, so fault tests can stop and start it under a
// live client that reconnects to the same address.
type StoppableNATS struct {
	URL string
	ctr testcontainers.Container
}

// NATSContainer starts a StoppableNATS for t (containers only: it skips,
// or fails under CI, without DOCKER_HOST).
func NATSContainer(t testing.TB) *StoppableNATS {
	t.Helper()
	if _, src := pick("LATTICE_NO_SUCH_VARIABLE"); src != fromContainer {
		unavailable(t, "a NATS container", "DOCKER_HOST")
	}
	ctx := context.Background()
	image := getenv("LATTICE_TC_NATS_IMAGE")
	if err := checkContainerEnv(ctx, image, "LATTICE_TC_NATS_IMAGE"); err != nil {
		t.Fatalf("testinfra: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        image,
			Cmd:          []string{"-js", "-m", "8222", "-sd", "/data"},
			ExposedPorts: []string{"4222/tcp", "8222/tcp"},
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.PortBindings = network.PortMap{network.MustParsePort("4222/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: itoa(hostPort)}}}
			},
			WaitingFor: wait.ForHTTP("/healthz?js-enabled-only=true").WithPort("8222/tcp").WithStartupTimeout(30 * time.Second),
		},
		Started: true,
	})
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatalf("testinfra: start NATS container: %v", err)
	}
	return &StoppableNATS{URL: "nats://127.0.0.1:" + itoa(hostPort), ctr: ctr}
}

// Stop stops the server; clients see a disconnect.
func (n *StoppableNATS) Stop(t testing.TB) {
	t.Helper()
	timeout := 10 * time.Second
	if err := n.ctr.Stop(context.Background(), &timeout); err != nil {
		t.Fatalf("testinfra: stop NATS: %v", err)
	}
}

// Start starts it again on the same address, with its stored streams.
func (n *StoppableNATS) Start(t testing.TB) {
	t.Helper()
	if err := n.ctr.Start(context.Background()); err != nil {
		t.Fatalf("testinfra: start NATS: %v", err)
	}
}
