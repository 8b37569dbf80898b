// Package mysql is what every MySQL-protocol store shares, over
// go-sql-driver/mysql: connecting, creating the database, migrating,
// transactions (retried on deadlock), and translating driver errors into
// the fault taxonomy with both MariaDB's and MySQL/TiDB's codes. It runs on
// MariaDB 10.11 here and on TiDB in production; docs/tidb.md lists what
// that rules out. Each service's store is a package of its own beneath
// this one (resourcestore, searchstore).
package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/golang-migrate/migrate/v4"
	migratemysql "github.com/golang-migrate/migrate/v4/database/mysql"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// config parses a go-sql-driver DSN and applies the settings Lattice needs:
// times as time.Time in UTC, and arguments interpolated into the statement
// by the driver. Without interpolation a statement with arguments is three
// messages to the server (prepare, execute, close) and two round trips;
// with it, one. Interpolation escapes for utf8mb4, the only character set
// the stores use (the driver refuses the multibyte sets it cannot escape
// safely), and a statement too large to interpolate within the server's
// max_allowed_packet is still prepared.
func config(dsn string) (*gomysql.Config, error) {
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		// The driver's message can echo the DSN, password included.
		return nil, errors.New("mysql: invalid DSN (want user:pass@tcp(host:port)/db)")
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.InterpolateParams = true
	return cfg, nil
}

// Open connects to dsn and checks the connection.
func Open(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := config(dsn)
	if err != nil {
		return nil, err
	}
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, errors.New("mysql: invalid DSN")
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(30 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("mysql: ping %s/%s: %w", cfg.Addr, cfg.DBName, err)
	}
	return db, nil
}

// EnsureDatabase creates the database named in dsn if it does not exist.
func EnsureDatabase(ctx context.Context, dsn string) error {
	cfg, err := config(dsn)
	if err != nil {
		return err
	}
	name := cfg.DBName
	cfg.DBName = ""
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return errors.New("mysql: invalid DSN")
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return fmt.Errorf("mysql: create database %q: %w", name, err)
	}
	return nil
}

// Migrate applies pending up-migrations from dir in migrations. It uses its
// own connection with multi-statement support, which the service's pool
// does not enable.
func Migrate(dsn string, migrations fs.FS, dir string) error {
	cfg, err := config(dsn)
	if err != nil {
		return err
	}
	cfg.MultiStatements = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return errors.New("mysql: invalid DSN")
	}
	defer db.Close()
	src, err := iofs.New(migrations, dir)
	if err != nil {
		return fmt.Errorf("mysql: read migrations: %w", err)
	}
	drv, err := migratemysql.WithInstance(db, &migratemysql.Config{})
	if err != nil {
		return fmt.Errorf("mysql: migration driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "mysql", drv)
	if err != nil {
		return fmt.Errorf("mysql: migrate: %w", err)
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("mysql: migrate up: %w", err)
	}
	return nil
}

// Ping is a readiness check.
func Ping(db *sql.DB) func(context.Context) error {
	return func(ctx context.Context) error { return db.PingContext(ctx) }
}

// Server error codes, MariaDB's and MySQL/TiDB's where they differ.
const (
	errDuplicate          = 1062
	errTooManyConnections = 1040
	errServerShutdown     = 1053
	errConnectionKilled   = 1927 // MariaDB: the server ended the connection
	errLockWaitTimeout    = 1205
	errDeadlock           = 1213
	errCheckMariaDB       = 4025
	errCheckMySQL         = 3819
	errLockNoWait         = 3572
)

// Lookup is Translate for a query that may find nothing: a missing row is
// notFound, what it means to the caller.
func Lookup(err, notFound error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound
	}
	return Translate(err)
}

// Translate maps driver errors to the fault taxonomy. A missing row is an
// error here too (a statement that must find its row did not); a query
// that may find nothing goes through Lookup instead.
func Translate(err error) error {
	var me *gomysql.MySQLError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fault.Wrap(fault.Internal, "a row the store expected is missing", err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fault.Wrap(fault.Unavailable, "the database did not answer in time", err)
	case unreachable(err):
		return fault.Wrap(fault.Unavailable, "the database is unreachable", err)
	case !errors.As(err, &me):
		return err
	}
	switch me.Number {
	case errTooManyConnections, errServerShutdown, errConnectionKilled:
		return fault.Wrap(fault.Unavailable, "the database is unavailable", err)
	case errDuplicate:
		return fault.Wrap(fault.Conflict, "already exists", err)
	case errLockWaitTimeout, errLockNoWait, errDeadlock:
		return &fault.Error{Kind: fault.Unavailable, Message: "the resource is busy; retry", RetryAfterSeconds: 1, Err: err}
	case errCheckMariaDB, errCheckMySQL:
		// Domain validation runs first, so a CHECK failure is a bug.
		return fault.Wrap(fault.Internal, "a stored value broke a table constraint", err)
	}
	return err
}

// unreachable reports a failure to reach the server or to keep talking to
// it (a refused or reset connection, a name that does not resolve while the
// server restarts), as opposed to an answer from it.
func unreachable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, gomysql.ErrInvalidConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// InTx runs fn in a transaction, committing on nil and rolling back
// otherwise.
func InTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Translate(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return Translate(tx.Commit())
}

// InTxRetrying is InTx that retries a transaction the server rolled back
// for a deadlock: concurrent first writes to one key take gap locks in
// InnoDB (and conflict optimistically in TiDB), and the loser is meant to
// be retried.
func InTxRetrying(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	// Many writers of one resource (a burst of redeliveries) can deadlock
	// repeatedly on a loaded server: retry with growing, jittered waits
	// (full jitter, capped at 100 ms) rather than fail the event.
	const attempts = 25
	for i := 1; ; i++ {
		err := InTx(ctx, db, fn)
		var me *gomysql.MySQLError
		if i == attempts || !errors.As(err, &me) || me.Number != errDeadlock {
			return err
		}
		wait := time.Duration(rand.Int64N(int64(min(time.Duration(i)*10*time.Millisecond, 100*time.Millisecond)))) + time.Millisecond
		select {
		case <-ctx.Done():
			return Translate(ctx.Err())
		case <-time.After(wait):
		}
	}
}
