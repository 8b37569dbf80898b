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
