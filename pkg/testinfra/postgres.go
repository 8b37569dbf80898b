package testinfra

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

var pgContainer lazyContainer

// Postgres returns the DSN of a new, empty database that is dropped when t
// ends.
func Postgres(t testing.TB) string {
	t.Helper()
	server, src := pick("TEST_POSTGRES_DSN")
	switch src {
	case fromContainer:
		server = pgContainer.get(t, startPostgres, "LATTICE_TC_POSTGRES_IMAGE")
	case fromNowhere:
		unavailable(t, "PostgreSQL", "TEST_POSTGRES_DSN")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("testinfra: connect to PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	name := uniqueName(t)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testinfra: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("testinfra: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testinfra: drop database %s: %v", name, err)
		}
	})
	return withDatabase(t, server, name)
}

// withDatabase points a URL-form DSN at another database.
func withDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		t.Fatal("testinfra: TEST_POSTGRES_DSN must be a URL (postgres://user@host:port/db)")
	}
	u.Path = "/" + name
	return u.String()
}

func startPostgres(ctx context.Context, image string) (string, error) {
	ctr, err := tcpostgres.Run(ctx, image,
		tcpostgres.WithDatabase("lattice"), tcpostgres.WithUsername("lattice"), tcpostgres.WithPassword("lattice"),
		tcpostgres.BasicWaitStrategies())
	if ctr != nil {
		registerStop(func(ctx context.Context) error { return testcontainers.TerminateContainer(ctr) })
	}
	if err != nil {
		return "", err
	}
	return ctr.ConnectionString(ctx, "sslmode=disable")
}
