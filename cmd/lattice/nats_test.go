package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/checkpointsink"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/jobstore"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/processing/processingsvc"
)

// TestTheComposeNATSUsersAreTheRegistrys keeps the users deploy/compose
// gives its NATS cluster in step with the services' descriptions.
func TestTheComposeNATSUsersAreTheRegistrys(t *testing.T) {
	committed, err := os.ReadFile("../../deploy/compose/nats/authorization.conf")
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, cmdNATS([]string{"authorization"}, &out))
	require.Equal(t, out.String(), string(committed), "regenerate with: lattice nats authorization > deploy/compose/nats/authorization.conf")
	require.Error(t, cmdNATS(nil, io.Discard))
}

// securedBus starts a nats-server with TLS, verify_and_map and the users
// of `lattice nats authorization`, and returns a connection function: a
// service's certificate is its user.
func securedBus(t *testing.T) (connect func(service string) (*nats.Conn, jetstream.JetStream, <-chan error)) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, tlsfiles.NewCA(dir))
	require.NoError(t, tlsfiles.Issue(dir, "nats", []string{"127.0.0.1"}, time.Hour))
	var auth strings.Builder
	require.NoError(t, cmdNATS([]string{"authorization"}, &auth))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "authorization.conf"), []byte(auth.String()), 0o600))
	conf := fmt.Sprintf(`listen: "127.0.0.1:-1"
jetstream { store_dir: %q }
tls { cert_file: %q, key_file: %q, ca_file: %q, verify_and_map: true }
include "authorization.conf"
`, filepath.Join(dir, "js"), filepath.Join(dir, "nats.crt"), filepath.Join(dir, "nats.key"), filepath.Join(dir, tlsfiles.CACertFile))
	confFile := filepath.Join(dir, "nats.conf")
	require.NoError(t, os.WriteFile(confFile, []byte(conf), 0o600))
	opts, err := server.ProcessConfigFile(confFile)
	require.NoError(t, err)
	opts.NoLog, opts.NoSigs = true, true
	srv, err := server.NewServer(opts)
	require.NoError(t, err)
	go srv.Start()
	require.True(t, srv.ReadyForConnections(10*time.Second))
	t.Cleanup(func() { natsjs.Shutdown(srv, natsjs.ShutdownWait) })

	return func(service string) (*nats.Conn, jetstream.JetStream, <-chan error) {
		require.NoError(t, tlsfiles.Issue(dir, service, nil, time.Hour))
		store, err := tlsfiles.Open(tlsfiles.Files{Cert: filepath.Join(dir, service+".crt"), Key: filepath.Join(dir, service+".key"),
			CA: filepath.Join(dir, tlsfiles.CACertFile)})
		require.NoError(t, err)
		violations := make(chan error, 16)
		nc, js, err := natsjs.Connect(srv.ClientURL(), service, nats.Secure(store.ClientConfig()),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				select {
				case violations <- err:
				default:
				}
			}))
		require.NoError(t, err, service)
		t.Cleanup(nc.Close)
		return nc, js, violations
	}
}

// TestEachServiceHasItsOwnNATSUser runs the adapters each service uses as
// that service's NATS user: what the service does is allowed, and what
// belongs to another service is refused by the server itself.
func TestEachServiceHasItsOwnNATSUser(t *testing.T) {
	t.Parallel()
	connect := securedBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A refused request gets no reply: it fails when its own, short,
	// deadline passes.
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		t.Cleanup(cancel)
		return c
	}

	_, operator, _ := connect(OperatorIdentity)
	require.NoError(t, natsjs.EnsureStreams(ctx, operator))

	// resource: its own events are accepted; the gateway's usage subject,
	// and reading the usage stream, are refused.
	_, resource, violations := connect("resource")
	require.NoError(t, natsjs.EnsureStreams(ctx, resource), "the shared streams, checked as resource")
	pub := natsjs.NewPublisher(resource, 2*time.Second)
	require.NoError(t, pub.PublishBatch(ctx, []ports.Event{{ID: "e1", Subject: "events.resource.created", Payload: []byte(`{}`)}})[0])
	err := pub.PublishBatch(short(), []ports.Event{{ID: "u1", Subject: "usage.gateway", Payload: []byte(`{}`)}})[0]
	require.Error(t, err, "resource may not publish usage")
	select {
	case v := <-violations:
		require.ErrorContains(t, v, `Permissions Violation for Publish to "usage.gateway"`)
	case <-ctx.Done():
		t.Fatal("the server did not report the violation")
	}
	usage, err := operator.Stream(ctx, "USAGE")
	require.NoError(t, err)
	info, err := usage.Info(ctx)
	require.NoError(t, err)
	require.Zero(t, info.State.Msgs, "nothing reached the usage stream")
	_, err = resource.CreateOrUpdateConsumer(short(), "USAGE", jetstream.ConsumerConfig{Durable: "spy"})
	require.Error(t, err, "resource may not read the usage stream")

	// resource's real subscription, fed by processing's real publication.
	received := make(chan ports.Event, 1)
	subCtx, stop := context.WithCancel(ctx)
	subscribed := make(chan error, 1)
	go func() {
		subscribed <- natsjs.NewSubscriber(resource, slog.New(slog.DiscardHandler)).Subscribe(subCtx, "resource-file-rejected",
			[]string{"events.file.rejected"}, func(_ context.Context, e ports.Event) error { received <- e; return nil })
	}()
	_, processing, _ := connect("processing")
	_, err = jobstore.New(ctx, processing, processingsvc.JobBucket)

	require.NoError(t, err, "processing owns the jobs bucket")
	_, err = natsjs.NewWorkQueue(ctx, processing, slog.New(slog.DiscardHandler))
	require.NoError(t, err, "processing owns the work queue")
	_, err = natsjs.OpenChunkBucket(ctx, processing)
	require.NoError(t, err, "processing owns the chunk store")
	require.NoError(t, natsjs.NewPublisher(processing, 2*time.Second).PublishBatch(ctx,
		[]ports.Event{{ID: "r1", Subject: "events.file.rejected", Payload: []byte(`{}`)}})[0])
	select {
	case e := <-received:
		require.Equal(t, "r1", e.ID)
	case err := <-subscribed:
		t.Fatalf("resource's subscription ended: %v", err)
	case <-ctx.Done():
		t.Fatal("resource did not receive processing's event")
	}
	stop()
	require.NoError(t, <-subscribed, "the subscription ends cleanly")

	// search reads chunk sets processing made; it may not touch jobs.
	_, search, _ := connect("search")
	_, err = natsjs.OpenChunkBucket(ctx, search)
	require.NoError(t, err)
	_, err = jobstore.New(short(), search, processingsvc.JobBucket)
	require.Error(t, err, "search may not open processing's jobs")

	// analytics keeps its checkpoints; the gateway may not forge them.
	_, analytics, _ := connect("analytics")
	_, err = checkpointsink.New(ctx, analytics)
	require.NoError(t, err)
	_, gateway, _ := connect("gateway")
	_, err = gateway.Publish(short(), "audit-checkpoints.forged", []byte(`{}`))
	require.Error(t, err, "the gateway may not write audit checkpoints")
	require.NoError(t, ctx.Err(), "refused by the server, not by the test's deadline")
}
