package testinfra

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/testcontainers/testcontainers-go"
	tcmysql "github.com/testcontainers/testcontainers-go/modules/mysql"
)

var mysqlContainer lazyContainer

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
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			t.Errorf("testinfra: drop database %s: %v", name, err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE `" + name + "`"); err != nil {
			t.Errorf("testinfra: drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	cfg.ParseTime = true
	return cfg.FormatDSN()
}

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
