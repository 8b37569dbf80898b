package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Limits of one multi-row INSERT. The protocol allows 65,535
// placeholders, and MariaDB's and TiDB's default max_allowed_packet is
// 16 MiB (TiDB's 64 MiB); a statement stays well below both, so rows with
// large bodies are simply sent in more statements. The bytes are held
// under the 256 KiB packet buffer go-sql-driver/mysql keeps for the next
// command: a larger packet gets a buffer of its own, fresh memory each
// time, and BenchmarkReplaceUploadSet's 1.4 MB of vectors cost the client
// 14–23 ms of CPU sent in statements of 512 KiB or more, 4.1–5.2 ms in
// statements of 128–256 KiB (ADR 0059). One row larger than that is still
// sent, in a statement of its own.
const (
	MaxBulkParams = 16_000
	MaxBulkBytes  = 192 << 10
)

// PreparedFrom is the size of a statement's arguments from which
// InsertRows prepares it, against ADR 0040's interpolation (ADR 0059):
// interpolated, the driver escapes every byte of them into the statement's
// text and the server lexes them back out, where a prepared execution sends
// them as they are. Below it the prepare's extra round trip costs more than
// that saves (BenchmarkReplaceUploadSet: even at one 4 KiB vector, ahead
// from two).
const PreparedFrom = 8 << 10

// InsertRows inserts rows into table, each with one value per column, in
// as few multi-row INSERT statements as MaxBulkParams and MaxBulkBytes
// allow. sqlc writes a statement per row; a bulk load (lattice import)
// that ran thousands of single-row statements a second would spend its
// time on round trips. table and columns are the caller's constants,
// never input.
func InsertRows(ctx context.Context, tx *sql.Tx, table string, columns []string, rows [][]any) error {
	return insertRows(ctx, tx, table, columns, rows, "")
}

// InsertNewRows is InsertRows for rows that may be there already: a row
// whose primary or unique key is stored, or repeated earlier in rows, is
// skipped and the first one kept. Unlike INSERT IGNORE, it still fails on
// any other error (a value too long, a missing column).
func InsertNewRows(ctx context.Context, tx *sql.Tx, table string, columns []string, rows [][]any) error {
	if len(columns) == 0 {
		return fmt.Errorf("mysql: insert into %s: no columns", table)
	}
	return insertRows(ctx, tx, table, columns, rows, " ON DUPLICATE KEY UPDATE "+columns[0]+" = "+columns[0])
}

func insertRows(ctx context.Context, tx *sql.Tx, table string, columns []string, rows [][]any, suffix string) error {
	perRow := len(columns)
	for _, r := range rows {
		if len(r) != perRow {
			return fmt.Errorf("mysql: insert into %s: a row has %d values for %d columns", table, len(r), perRow)
		}
	}
	for len(rows) > 0 {
		n, size := 0, 0
		for n < len(rows) {
			b := rowBytes(rows[n])
			if n > 0 && ((n+1)*perRow > MaxBulkParams || size+b > MaxBulkBytes) {
				break
			}
			n, size = n+1, size+b
		}
		if err := insertStatement(ctx, tx, table, columns, rows[:n], suffix, size >= PreparedFrom); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// insertStatement sends rows as one INSERT, its text and arguments each
// built in one allocation: a create sends two of these (tags, metadata)
// and its outbox event through here. A prepared statement is closed before
// it returns: the next one rarely has as many rows.
func insertStatement(ctx context.Context, tx *sql.Tx, table string, columns []string, rows [][]any, suffix string, prepare bool) error {
	perRow := len(columns)
	size := len("INSERT INTO  () VALUES ") + len(table) + len(rows)*(2+perRow*3) + len(suffix)
	for _, c := range columns {
		size += len(c) + 2
	}
	var q strings.Builder
	q.Grow(size)
	q.WriteString("INSERT INTO ")
	q.WriteString(table)
	q.WriteString(" (")
	for i, c := range columns {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(c)
	}
	q.WriteString(") VALUES ")
	args := make([]any, 0, len(rows)*perRow)
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for j := range perRow {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('?')
		}
		q.WriteByte(')')
		args = append(args, r...)
	}
	q.WriteString(suffix)
	if !prepare {
		_, err := tx.ExecContext(ctx, q.String(), args...)
		return Translate(err)
	}
	stmt, err := tx.PrepareContext(ctx, q.String())
	if err != nil {
		return Translate(err)
	}
	_, err = stmt.ExecContext(ctx, args...)
	if cerr := stmt.Close(); err == nil {
		err = cerr
	}
	return Translate(err)
}

// rowBytes estimates what a row adds to a statement's packet.
func rowBytes(r []any) int {
	n := 0
	for _, v := range r {
		switch v := v.(type) {
		case string:
			n += len(v) + 4
		case []byte:
			n += len(v) + 4
		default:
			n += 16
		}
	}
	return n
}
