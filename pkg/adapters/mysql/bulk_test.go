package mysql_test

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/fault"
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

// TestInsertRowsPreparesOnlyBigStatements: a statement whose arguments
// reach PreparedFrom bytes is prepared on the server, a smaller one is not
// (ADR 0059), and either way every byte arrives as sent and a failure is
// translated alike.
func TestInsertRowsPreparesOnlyBigStatements(t *testing.T) {
	ctx := context.Background()
	db, err := mysql.Open(ctx, testinfra.MySQL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.ExecContext(ctx, "CREATE TABLE blobs (id INT NOT NULL PRIMARY KEY, v LONGBLOB NOT NULL, s VARCHAR(4) NOT NULL)")
	require.NoError(t, err)
	columns := []string{"id", "v", "s"}
	every := make([]byte, 256) // NUL, quotes, backslash, invalid UTF-8
	for i := range every {
		every[i] = byte(i)
	}

	for _, tc := range []struct {
		name         string
		rows         int
		blob         []byte
		wantPrepared int
	}{
		{"small", 3, every, 0},
		{"big", 40, bytes.Repeat(every, 4), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := make([][]any, tc.rows)
			for i := range rows {
				rows[i] = []any{i, append([]byte{byte(i)}, tc.blob...), "s"}
			}
			tx, err := db.BeginTx(ctx, nil) // one session, so its counters are this statement's
			require.NoError(t, err)
			defer func() { _ = tx.Rollback() }()
			prepares := func() (n int) {
				var name string
				require.NoError(t, tx.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'").Scan(&name, &n))
				return n
			}
			before := prepares()
			require.NoError(t, mysql.InsertRows(ctx, tx, "blobs", columns, rows))
			require.Equal(t, tc.wantPrepared, prepares()-before, "statements prepared")
			for i := range rows {
				var got []byte
				require.NoError(t, tx.QueryRowContext(ctx, "SELECT v FROM blobs WHERE id = ?", i).Scan(&got))
				require.True(t, bytes.Equal(rows[i][1].([]byte), got), "row %d's bytes", i)
			}

			err = mysql.InsertRows(ctx, tx, "blobs", columns, rows)
			require.True(t, fault.Of(err, fault.Conflict), "stored keys: %v", err)
			long := make([][]any, len(rows))
			for i := range long {
				long[i] = []any{-100 - i, tc.blob, "too long"}
			}
			require.Error(t, mysql.InsertNewRows(ctx, tx, "blobs", columns, long), "a value too long fails though duplicates are skipped")

			again := append([][]any{{-2, tc.blob, "new"}, {-2, []byte("repeat"), "rep"}}, rows...)
			for i := 2; i < len(again); i++ {
				again[i] = []any{again[i][0], []byte("replaced"), "rep"}
			}
			require.NoError(t, mysql.InsertNewRows(ctx, tx, "blobs", columns, again))
			var n int
			require.NoError(t, tx.QueryRowContext(ctx, "SELECT count(*) FROM blobs WHERE s = 'rep'").Scan(&n))
			require.Zero(t, n, "a stored or repeated key keeps its first row")
			require.NoError(t, tx.QueryRowContext(ctx, "SELECT count(*) FROM blobs WHERE s = 'new'").Scan(&n))
			require.Equal(t, 1, n, "a new key is inserted")
		})
	}
}
