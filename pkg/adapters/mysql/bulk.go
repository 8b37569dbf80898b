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
	tuple := "(" + strings.Repeat("?, ", perRow-1) + "?)"
	head := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES "
	var q strings.Builder
	var args []any
	size := 0
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, q.String(), args...)
		q.Reset()
		args, size = args[:0], 0
		return Translate(err)
	}
	for _, r := range rows {
		if len(r) != perRow {
			return fmt.Errorf("mysql: insert into %s: a row has %d values for %d columns", table, len(r), perRow)
		}
		n := rowBytes(r)
		if len(args) > 0 && (len(args)+perRow > MaxBulkParams || size+n > MaxBulkBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		if len(args) == 0 {
			q.WriteString(head)
		} else {
			q.WriteString(", ")
		}
		q.WriteString(tuple)
		args = append(args, r...)
		size += n
	}
	return flush()
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
