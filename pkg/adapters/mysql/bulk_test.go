package mysql_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// TestInsertRowsSplitsAtItsLimits: more rows than one statement may carry
// by placeholders (MaxBulkParams), or by bytes (MaxBulkBytes), all arrive;
// a row of the wrong width is refused before anything is sent.
func TestInsertRowsSplitsAtItsLimits(t *testing.T) {
	ctx := context.Background()
	db, err := mysql.Open(ctx, testinfra.MySQL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.ExecContext(ctx, "CREATE TABLE bulk (id INT NOT NULL PRIMARY KEY, v LONGTEXT NOT NULL)")
	require.NoError(t, err)
	insert := func(rows [][]any) error {
		return mysql.InTx(ctx, db, func(tx *sql.Tx) error { return mysql.InsertRows(ctx, tx, "bulk", []string{"id", "v"}, rows) })
	}
	count := func() (n int) {
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM bulk").Scan(&n))
		return n
	}

	many := make([][]any, mysql.MaxBulkParams) // twice the placeholders one statement takes
	for i := range many {
		many[i] = []any{i, "x"}
	}
	require.NoError(t, insert(many))
	require.Equal(t, mysql.MaxBulkParams, count())

	big := strings.Repeat("b", mysql.MaxBulkBytes/2)
	large := [][]any{{-1, big}, {-2, big}, {-3, big}} // 1.5 × the bytes one statement takes
	require.NoError(t, insert(large))
	require.Equal(t, mysql.MaxBulkParams+3, count())

	require.ErrorContains(t, insert([][]any{{-4, "ok"}, {-5}}), "1 values for 2 columns")
	require.Equal(t, mysql.MaxBulkParams+3, count(), "nothing of a refused batch is kept")

	// A bad row past the first statement's share: nothing is sent, even
	// inside the transaction that would roll it back.
	var seen int
	err = mysql.InTx(ctx, db, func(tx *sql.Tx) error {
		rows := make([][]any, mysql.MaxBulkParams/2+1, mysql.MaxBulkParams/2+2)
		for i := range rows {
			rows[i] = []any{-10 - i, "y"}
		}
		err := mysql.InsertRows(ctx, tx, "bulk", []string{"id", "v"}, append(rows, []any{0}))
		require.NoError(t, tx.QueryRowContext(ctx, "SELECT count(*) FROM bulk").Scan(&seen))
		return err
	})
	require.ErrorContains(t, err, "1 values for 2 columns")
	require.Equal(t, mysql.MaxBulkParams+3, seen, "no statement went before the check")
	require.NoError(t, insert(nil), "no rows, no statement")
}
