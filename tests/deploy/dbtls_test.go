package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
)

// TestPostgreSQLOverVerifiedTLS runs PostgreSQL with a certificate from a
// CA minted by `lattice certs`, and migrates the auth store through a DSN
// with sslmode=verify-full and that CA as sslrootcert, as a deployment
// would; the same DSN with another CA is refused.
func TestPostgreSQLOverVerifiedTLS(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	dir, other := t.TempDir(), t.TempDir()
	require.NoError(t, tlsfiles.NewCA(dir))
	require.NoError(t, tlsfiles.Issue(dir, "postgres", []string{"127.0.0.1", "localhost"}, time.Hour))
	require.NoError(t, tlsfiles.NewCA(other))
	conf := filepath.Join(dir, "postgresql.conf")
	require.NoError(t, os.WriteFile(conf, []byte(strings.Join([]string{
		"listen_addresses = '*'", "ssl = on", "ssl_min_protocol_version = 'TLSv1.3'",
		"ssl_ca_file = '/tmp/testcontainers-go/postgres/ca_cert.pem'",
		"ssl_cert_file = '/tmp/testcontainers-go/postgres/server.cert'",
		"ssl_key_file = '/tmp/testcontainers-go/postgres/server.key'", "",
	}, "\n")), 0o600))

	ctr, err := postgres.Run(ctx, os.Getenv("LATTICE_TC_POSTGRES_IMAGE"),
		postgres.WithConfigFile(conf), postgres.WithPassword("tls-secret"),
		postgres.WithSSLCert(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "postgres.crt"), filepath.Join(dir, "postgres.key")),
		// The module starts its bash script with sh, which is dash on Debian.
		testcontainers.WithEntrypoint("bash", "/usr/local/bin/docker-entrypoint-ssl.bash"),
		postgres.BasicWaitStrategies())
	testcontainers.CleanupContainer(t, ctr)
	require.NoError(t, err)

	verified, err := ctr.ConnectionString(ctx, "sslmode=verify-full", "sslrootcert="+filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	require.True(t, strings.Contains(verified, "@127.0.0.1:"), "loopback only: %s", verified)
	require.NoError(t, authsvc.Migrate(ctx, verified), "migrating over TLS, the server's certificate verified")

	wrongCA, err := ctr.ConnectionString(ctx, "sslmode=verify-full", "sslrootcert="+filepath.Join(other, "ca.crt"))
	require.NoError(t, err)
	err = authsvc.Migrate(ctx, wrongCA)
	require.Error(t, err, "a server certificate from another CA is refused")
	require.NotContains(t, err.Error(), "tls-secret", "the password never appears in errors")
}
