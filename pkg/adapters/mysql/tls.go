package mysql

import (
	"crypto/tls"
	"fmt"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
)

// TLSConfigName is what a DSN names (tls=lattice) to verify the server
// against the CA in MYSQL_TLS_CA_FILE.
const TLSConfigName = "lattice"

// RegisterCA makes `tls=<name>` in a DSN connect over TLS (1.2 at least:
// TiDB's floor) and verify the server's certificate, for the host in the
// DSN, against the PEM CA in path. Registration is process-wide, as the
// driver keeps it.
func RegisterCA(name, path string) error {
	pool, err := tlsfiles.Pool(path)
	if err != nil {
		return fmt.Errorf("mysql CA: %w", err)
	}
	return gomysql.RegisterTLSConfig(name, &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool})
}
