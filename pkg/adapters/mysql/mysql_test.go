package mysql_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// TestAnUnreachableServerIsUnavailable: a server that refuses connections
// (stopped, restarting) is a 503 for the caller, not an internal error.
func TestAnUnreachableServerIsUnavailable(t *testing.T) {
	addr := testinfra.ClosedAddr(t)

	db, err := sql.Open("mysql", "root@tcp("+addr+")/x?timeout=2s")
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = mysql.InTx(ctx, db, func(*sql.Tx) error { return nil })
	require.True(t, fault.Of(err, fault.Unavailable), "%v", err)
	require.False(t, fault.Of(mysql.Translate(sql.ErrConnDone), fault.Unavailable), "a closed handle is a bug, not an outage")
}

// TestArgumentsTravelInOneStatement: a statement with arguments is one
// message to the server, not a prepare, an execute and a close, and the
// values the driver interpolates come back exactly as written, quotes,
// backslashes, NUL and invalid UTF-8 included.
func TestArgumentsTravelInOneStatement(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := mysql.Open(ctx, testinfra.MySQL(t))
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(ctx) // one session, so its counters are this test's
	require.NoError(t, err)
	defer conn.Close()

	hostile := []string{`'; DROP TABLE t; --`, `\' OR 1=1 #`, "a\x00b\\", "\"quoted\"", "é€𝄞", "line\nbreak\r\x1a"}
	binary := []byte{0, '\'', '\\', 0xff, 0xfe, '"', '\n'}
	for _, s := range hostile {
		var got string
		var n int
		require.NoError(t, conn.QueryRowContext(ctx, "SELECT ?, ? + 1", s, 41).Scan(&got, &n))
		require.Equal(t, s, got)
		require.Equal(t, 42, n)
	}
	var gotBinary []byte
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT ?", binary).Scan(&gotBinary))
	require.Equal(t, binary, gotBinary)

	var name string
	var prepared int
	require.NoError(t, conn.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'").Scan(&name, &prepared))
	require.Zero(t, prepared, "statements with arguments were prepared on the server")
}
