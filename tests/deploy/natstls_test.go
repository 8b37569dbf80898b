package deploy_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/pkg/target"
)

// TestTheBusOverMutualTLS runs NATS JetStream requiring TLS with verified
// client certificates: a service's platform, given NATS_URL=tls://… and
// its TLS_* files, connects and creates the streams; a client without a
// certificate is refused.
func TestTheBusOverMutualTLS(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	dir, _ := minted(t, "nats")
	require.NoError(t, tlsfiles.Issue(dir, "search", []string{"127.0.0.1"}, time.Hour))
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: os.Getenv("LATTICE_TC_NATS_IMAGE"),
			Cmd: []string{"-js", "-sd", "/data", "-m", "8222", "--tls", "--tlscert", "/certs/nats.crt", "--tlskey", "/certs/nats.key",
				"--tlscacert", "/certs/ca.crt", "--tlsverify"},
			Files:        certFiles(dir, "/certs", "nats"),
			ExposedPorts: []string{"4222/tcp", "8222/tcp"},
			WaitingFor:   wait.ForHTTP("/healthz?js-enabled-only=true").WithPort("8222/tcp").WithStartupTimeout(30 * time.Second),
		},
		Started: true,
	})
	testcontainers.CleanupContainer(t, ctr)
	require.NoError(t, err)
	endpoint, err := ctr.PortEndpoint(ctx, "4222/tcp", "")
	require.NoError(t, err)

	env := config.FromMap(map[string]string{"NATS_URL": "tls://" + endpoint,
		"TLS_CERT_FILE": filepath.Join(dir, "search.crt"), "TLS_KEY_FILE": filepath.Join(dir, "search.key"),
		"TLS_CA_FILE": filepath.Join(dir, "ca.crt")})
	settings := target.ReadSettings(env, nil)
	require.NoError(t, env.Err())
	p := target.NewPlatform(ctx, settings, []string{"search"}, slog.New(slog.DiscardHandler))
	defer p.Close()
	bus, err := p.Bus()
	require.NoError(t, err, "connected with the service's certificate, the streams made")
	_, err = bus.JetStream.Stream(ctx, "EVENTS")
	require.NoError(t, err)

	anonymous := nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}) //nolint:gosec // the server side is under test
	_, _, err = natsjs.Connect("tls://"+endpoint, "anonymous", anonymous, nats.MaxReconnects(0), nats.Timeout(5*time.Second))
	require.Error(t, err, "a client without a certificate is refused")
}
