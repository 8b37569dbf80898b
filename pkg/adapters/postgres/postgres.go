// Package postgres is what every PostgreSQL store shares: connecting,
// creating the database, migrating, the context-carried unit of work
// (Transactor), and translating pgx errors into the fault taxonomy. Each
// service's store is a package of its own beneath this one (authstore,
// analyticsstore), so no store sees another's tables.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"syscall"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// Open connects a pool to dsn and checks the connection.
func Open(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors can echo the DSN, password included.
		return nil, errors.New("postgres: invalid connection string")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: ping %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// EnsureDatabase creates the database named in dsn if it does not exist,
// connecting to the server's "postgres" database to do so. It lets `make
// run` work on a fresh server.
func EnsureDatabase(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return errors.New("postgres: invalid connection string")
	}
	name := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: connect to create database %q: %w", name, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created concurrently by another instance
		return nil
	}
	if err != nil {
		return fmt.Errorf("postgres: create database %q: %w", name, err)
	}
	return nil
}

// Migrate applies every pending up-migration in migrations (a directory of
// golang-migrate files). golang-migrate holds an advisory lock while it runs,
// so replicas starting together migrate once.
func Migrate(pool *pgxpool.Pool, migrations fs.FS, dir string) error {
	src, err := iofs.New(migrations, dir)
	if err != nil {
		return fmt.Errorf("postgres: read migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	drv, err := pgxmigrate.WithInstance(db, &pgxmigrate.Config{})
	if err != nil {
		return fmt.Errorf("postgres: migration driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	// Close releases the connection the driver holds for its advisory lock;
	// without it the pool can never close.
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("postgres: migrate up: %w", err)
	}
	return nil
}

// Ping is a readiness check.
func Ping(pool *pgxpool.Pool) func(context.Context) error {
	return func(ctx context.Context) error { return pool.Ping(ctx) }
}

// Lookup is Translate for a query that may find nothing: a missing row is
// notFound, what it means to the caller.
func Lookup(err, notFound error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound
	}
	return Translate(err)
}

// Translate maps driver errors to the fault taxonomy. A missing row is an
// error here too (a statement that must find its row did not); a query
// that may find nothing goes through Lookup instead.
func Translate(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return fault.Wrap(fault.Internal, "a row the store expected is missing", err)
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		return fault.Wrap(fault.Conflict, "already exists", err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fault.Wrap(fault.Unavailable, "the database did not answer in time", err)
	case unreachable(err, pgErr):
		return fault.Wrap(fault.Unavailable, "the database is unavailable", err)
	}
	return err
}

// unreachable reports a failure to reach the server or to keep talking to
// it, or the server saying it cannot serve now: connection exceptions
// (class 08), a shutdown or start in progress (57P01–57P03) and too many
// connections (53300).
func unreachable(err error, pgErr *pgconn.PgError) bool {
	if pgErr != nil {
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}
