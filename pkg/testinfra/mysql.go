package testinfra

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/testcontainers/testcontainers-go"
	tcmysql "github.com/testcontainers/testcontainers-go/modules/mysql"

	latticemysql "github.com/lattice-platform/lattice/pkg/adapters/mysql"
)

var mysqlContainer lazyContainer

// dropWait bounds a test database's drop: a lock endSessions cannot end
// (a session using the database from another) fails the test rather than
// hang it.
var dropWait = 30 * time.Second

// MySQL returns a go-sql-driver DSN (with parseTime) for a new, empty
// database on a MySQL-protocol server; the database is dropped when t ends.
func MySQL(t testing.TB) string {
	t.Helper()
	server, src := pick("TEST_MYSQL_DSN")
	switch src {
	case fromContainer:
		server = mysqlContainer.get(t, startMySQL, "LATTICE_TC_MARIADB_IMAGE")
	case fromNowhere:
		unavailable(t, "MySQL-protocol server", "TEST_MYSQL_DSN")
	}
	cfg, err := mysql.ParseDSN(server)
	if err != nil {
		t.Fatal("testinfra: TEST_MYSQL_DSN is not a go-sql-driver DSN (root@tcp(127.0.0.1:3306)/)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("testinfra: open MySQL: %v", err)
	}
	defer admin.Close()
	name := uniqueName(t)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		t.Fatalf("testinfra: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dropWait)
		defer cancel()
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			t.Errorf("testinfra: drop database %s: %v", name, err)
			return
		}
		defer db.Close()
		if err := endSessions(ctx, db, name); err != nil {
			t.Errorf("testinfra: drop database %s: %v", name, err)
		}
		if _, err := db.ExecContext(ctx, "DROP DATABASE `"+name+"`"); err != nil {
			t.Errorf("testinfra: drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	cfg.ParseTime = true
	return cfg.FormatDSN()
}

// MySQLMigrated opens a new database (MySQL) with the migrations in dir
// of migrations applied, through the stores' own pool (mysql.Open); the
// pool is closed when tb ends.
func MySQLMigrated(tb testing.TB, migrations fs.FS, dir string) *sql.DB {
	tb.Helper()
	dsn := MySQL(tb)
	if err := latticemysql.Migrate(dsn, migrations, dir); err != nil {
		tb.Fatalf("testinfra: migrate %s: %v", dir, err)
	}
	db, err := latticemysql.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("testinfra: open MySQL: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// endSessions ends the sessions still using database name, as
// PostgreSQL's DROP DATABASE … WITH (FORCE) does. A test that failed
// inside a transaction (t.FailNow in a callback) leaves it open on a
// pooled connection, and DROP DATABASE would wait for its metadata lock
// for as long as the server's lock_wait_timeout, a day by default.
func endSessions(ctx context.Context, db *sql.DB, name string) error {
	rows, err := db.QueryContext(ctx, "SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()", name)
	if err != nil {
		return err
	}
	var ids []uint64
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, id := range ids {
		// KILL takes no placeholder; id is the server's own number.
		_, err := db.ExecContext(ctx, "KILL CONNECTION "+strconv.FormatUint(id, 10))
		var me *mysql.MySQLError
		if err != nil && !(errors.As(err, &me) && me.Number == unknownThread) {
			return err
		}
	}
	return nil
}

// unknownThread is ER_NO_SUCH_THREAD: the session ended by itself meanwhile.
const unknownThread = 1094

func startMySQL(ctx context.Context, image string) (string, error) {
	ctr, err := tcmysql.Run(ctx, image, tcmysql.WithUsername("root"), tcmysql.WithPassword("lattice"), tcmysql.WithDatabase("lattice"))
	if ctr != nil {
		registerStop(func(ctx context.Context) error { return testcontainers.TerminateContainer(ctr) })
	}
	if err != nil {
		return "", err
	}
	return ctr.ConnectionString(ctx)
}
