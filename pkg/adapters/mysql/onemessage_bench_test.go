package mysql_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// BenchmarkCreateShapedTransaction measures what a create's transaction
// (three inserts shaped like a resource, its version and its outbox event)
// costs as the stores send it, five messages and five round trips
// (InTx), against the same statements sent as one multi-statement message
// (START TRANSACTION; …; COMMIT), which the stores do not do (see
// docs/benchmarks.md, session 55). It reports the client's CPU a
// transaction, and the server's when MARIADB_PID names the local server's
// process.
func BenchmarkCreateShapedTransaction(b *testing.B) {
	ctx := context.Background()
	dsn := testinfra.MySQL(b)
	db, err := mysql.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		"CREATE TABLE r (id VARCHAR(40) PRIMARY KEY, title VARCHAR(200), body TEXT, created_at DATETIME(6))",
		"CREATE TABLE v (id VARCHAR(40), n BIGINT, snapshot JSON, PRIMARY KEY (id, n))",
		"CREATE TABLE o (seq BIGINT AUTO_INCREMENT PRIMARY KEY, event_id VARCHAR(40), payload BLOB)",
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.InterpolateParams, cfg.MultiStatements = true, true
	multi, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		b.Fatal(err)
	}
	defer multi.Close()

	body := strings.Repeat("x", 500)
	snapshot := `{"title":"t","body":"` + body + `"}`
	payload := []byte(strings.Repeat("p", 700))
	seq := 0
	measure := func(b *testing.B, create func(id string) error) {
		report := testinfra.CPUReport(b)
		b.ResetTimer()
		for range b.N {
			seq++
			if err := create(strconv.Itoa(seq)); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		report()
	}
	b.Run("five-round-trips", func(b *testing.B) {
		measure(b, func(id string) error {
			return mysql.InTx(ctx, db, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO r VALUES (?, ?, ?, NOW(6))", id, "t", body); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, "INSERT INTO v VALUES (?, 1, ?)", id, snapshot); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, "INSERT INTO o (event_id, payload) VALUES (?, ?)", id, payload)
				return err
			})
		})
	})
	b.Run("one-message", func(b *testing.B) {
		measure(b, func(id string) error {
			_, err := multi.ExecContext(ctx, "START TRANSACTION; INSERT INTO r VALUES (?, ?, ?, NOW(6)); "+
				"INSERT INTO v VALUES (?, 1, ?); INSERT INTO o (event_id, payload) VALUES (?, ?); COMMIT",
				id, "t", body, id, snapshot, id, payload)
			return err
		})
	})
}
