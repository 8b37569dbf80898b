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
// large bodies are simply sent in more statements.
const (
	MaxBulkParams = 16_000
	MaxBulkBytes  = 4 << 20
)

// InsertRows inserts rows into table, each with one value per column, in
// as few multi-row INSERT statements as MaxBulkParams and MaxBulkBytes
// allow. sqlc writes a statement per row; a bulk load (lattice import)
// that ran thousands of single-row statements a second would spend its
// time on round trips. table and columns are the caller's constants,
// never input.
func InsertRows(ctx context.Context, tx *sql.Tx, table string, columns []string, rows [][]any) error {
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
		if err := insertStatement(ctx, tx, table, columns, rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// insertStatement sends rows as one INSERT, its text and arguments each
// built in one allocation: a create sends two of these (tags, metadata)
// and its outbox event through here.
func insertStatement(ctx context.Context, tx *sql.Tx, table string, columns []string, rows [][]any) error {
	perRow := len(columns)
	size := len("INSERT INTO  () VALUES ") + len(table) + len(rows)*(2+perRow*3)
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
	_, err := tx.ExecContext(ctx, q.String(), args...)
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
