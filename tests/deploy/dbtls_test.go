package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	tcmysql "github.com/testcontainers/testcontainers-go/modules/mysql"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/redis"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
)

// TestPostgreSQLOverVerifiedTLS runs PostgreSQL with a certificate from a
// CA minted by `lattice certs`, and migrates the auth store through a DSN
// with sslmode=verify-full and that CA as sslrootcert, as a deployment
// would; the same DSN with another CA is refused.
func TestPostgreSQLOverVerifiedTLS(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	dir, other := minted(t, "postgres")
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

// TestMariaDBOverVerifiedTLS runs MariaDB (our TiDB stand-in) requiring TLS,
// with a certificate from a lattice certs CA, and migrates the resource
// store through a DSN with tls=lattice, the CA that MYSQL_TLS_CA_FILE
// registers; a DSN without TLS, or naming another CA, is refused.
func TestMariaDBOverVerifiedTLS(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	dir, other := minted(t, "mariadb")
	conf := filepath.Join(dir, "tls.cnf")
	require.NoError(t, os.WriteFile(conf, []byte(strings.Join([]string{"[mysqld]",
		"ssl_ca=/etc/mysql/certs/ca.crt", "ssl_cert=/etc/mysql/certs/mariadb.crt", "ssl_key=/etc/mysql/certs/mariadb.key",
		"require_secure_transport=ON", ""}, "\n")), 0o600))
	ctr, err := tcmysql.Run(ctx, os.Getenv("LATTICE_TC_MARIADB_IMAGE"),
		tcmysql.WithUsername("root"), tcmysql.WithPassword("tls-secret"), tcmysql.WithDatabase("lattice"),
		tcmysql.WithConfigFile(conf),
		testcontainers.WithFiles(certFiles(dir, "/etc/mysql/certs", "mariadb")...))
	testcontainers.CleanupContainer(t, ctr)
	require.NoError(t, err)

	require.NoError(t, mysql.RegisterCA(mysql.TLSConfigName, filepath.Join(dir, "ca.crt")))
	require.NoError(t, mysql.RegisterCA("lattice-other-ca", filepath.Join(other, "ca.crt")))
	dsn := func(params string) string {
		s, err := ctr.ConnectionString(ctx, params)
		require.NoError(t, err)
		return strings.Replace(s, "/lattice?", "/lattice_resource?", 1)
	}
	require.NoError(t, resourcesvc.Migrate(ctx, dsn("tls=lattice")), "migrating over TLS, the server's certificate verified")
	for name, params := range map[string]string{"no TLS": "tls=false", "another CA": "tls=lattice-other-ca"} {
		err := resourcesvc.Migrate(ctx, dsn(params))
		require.Error(t, err, name)
		require.NotContains(t, err.Error(), "tls-secret", "the password never appears in errors")
	}
}

// TestRedisOverVerifiedTLS runs Redis serving only TLS, with a
// certificate from a lattice certs CA: a rediss:// URL with that CA
// (REDIS_TLS_CA_FILE) connects, another CA or plain redis:// does not.
func TestRedisOverVerifiedTLS(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	dir, other := minted(t, "redis")
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: os.Getenv("LATTICE_TC_REDIS_IMAGE"),
			Cmd: []string{"--port", "0", "--tls-port", "6379", "--tls-cert-file", "/certs/redis.crt",
				"--tls-key-file", "/certs/redis.key", "--tls-ca-cert-file", "/certs/ca.crt", "--tls-auth-clients", "no"},
			Files:        certFiles(dir, "/certs", "redis"),
			ExposedPorts: []string{"6379/tcp"},
			WaitingFor:   wait.ForLog("Ready to accept connections").WithStartupTimeout(30 * time.Second),
		},
		Started: true,
	})
	testcontainers.CleanupContainer(t, ctr)
	require.NoError(t, err)
	endpoint, err := ctr.PortEndpoint(ctx, "6379/tcp", "")
	require.NoError(t, err)

	ping := func(url, ca string) error {
		opts, err := redis.Options(url, ca)
		if err != nil {
			return err
		}
		rdb := goredis.NewClient(opts)
		defer rdb.Close()
		return rdb.Ping(ctx).Err()
	}
	require.NoError(t, ping("rediss://"+endpoint+"/0", filepath.Join(dir, "ca.crt")), "over TLS, the server's certificate verified")
	require.Error(t, ping("rediss://"+endpoint+"/0", filepath.Join(other, "ca.crt")), "another CA is refused")
	require.Error(t, ping("redis://"+endpoint+"/0", ""), "the server speaks only TLS")
	require.ErrorContains(t, ping("redis://"+endpoint+"/0", filepath.Join(dir, "ca.crt")), "needs a rediss://")
}

// minted is a CA with a certificate for server (on 127.0.0.1) in dir, and
// another CA in other.
func minted(t *testing.T, server string) (dir, other string) {
	t.Helper()
	dir, other = t.TempDir(), t.TempDir()
	require.NoError(t, tlsfiles.NewCA(dir))
	require.NoError(t, tlsfiles.Issue(dir, server, []string{"127.0.0.1", "localhost"}, time.Hour))
	require.NoError(t, tlsfiles.NewCA(other))
	return dir, other
}

// certFiles copies the CA and server's certificate and key from dir into a
// container's folder (readable by the server's own user).
func certFiles(dir, into, server string) []testcontainers.ContainerFile {
	var out []testcontainers.ContainerFile
	for _, name := range []string{"ca.crt", server + ".crt", server + ".key"} {
		out = append(out, testcontainers.ContainerFile{HostFilePath: filepath.Join(dir, name), ContainerFilePath: into + "/" + name, FileMode: 0o644})
	}
	return out
}
