// Command import benchmarks `lattice import` as an operator runs it: it
// fills a PostgreSQL database shaped like the reference monolith's
// (examples/monolith) with users and resources with metadata and tags,
// runs the lattice binary with the monolith's mapping file into fresh
// Lattice stores, and prints the resources phase's rows per second, then
// the same for a re-run, which finds everything imported. The databases
// it makes are dropped at the end.
//
//	go run ./bench/import -resources 100000
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lattice-platform/lattice/bench/internal/launch"
)

func main() {
	resources := flag.Int("resources", 100000, "resources in the source")
	users := flag.Int("users", 1000, "users owning them")
	pgURL := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/postgres", "a PostgreSQL server (its URL, any database) for the source and auth")
	mysqlDSN := flag.String("mysql", "root@tcp(127.0.0.1:3306)/", "a MySQL-protocol server (its DSN, no database) for the resource store")
	workers := flag.Int("workers", 4, "lattice import --workers")
	batch := flag.Int("batch", 500, "lattice import --batch")
	flag.Parse()
	if err := run(*resources, *users, *pgURL, *mysqlDSN, *workers, *batch); err != nil {
		log.Fatal(err)
	}
}

func run(resources, users int, pgURL, mysqlDSN string, workers, batch int) error {
	ctx := context.Background()
	lab, err := launch.New("bench-import-")
	if err != nil {
		return err
	}
	defer lab.Close()
	sourceURL, err := lab.Postgres(ctx, pgURL, "bench_import_src")
	if err != nil {
		return err
	}
	authURL, err := lab.Postgres(ctx, pgURL, "bench_import_auth")
	if err != nil {
		return err
	}
	resourceDSN, err := lab.MySQL(ctx, mysqlDSN, "bench_import_resource")
	if err != nil {
		return err
	}

	start := time.Now()
	if err := fill(ctx, sourceURL, users, resources); err != nil {
		return fmt.Errorf("fill the source: %w", err)
	}
	fmt.Printf("source: %d users, %d resources with metadata and tags, filled in %s\n", users, resources, time.Since(start).Round(time.Millisecond))

	filesDir := filepath.Join(lab.Dir, "files")
	if err := os.Mkdir(filesDir, 0o700); err != nil {
		return err
	}
	env := append(os.Environ(), "IMPORT_SOURCE_URL="+sourceURL, "AUTH_DATABASE_URL="+authURL, "RESOURCE_DATABASE_URL="+resourceDSN,
		"LATTICE_DATA_DIR="+filepath.Join(lab.Dir, "data"), "REDIS_URL=", "NATS_URL=")
	// The first run creates the stores (migrations) and imports the users:
	// measured apart, so the resources phase is all that is timed below.
	for i, label := range []string{"import", "re-run"} {
		args := []string{"import", "--mapping", "examples/monolith/import.yaml", "--files-dir", filesDir,
			"--workers", strconv.Itoa(workers), "--batch", strconv.Itoa(batch), "--progress-every", "1h"}
		t0 := time.Now()
		rates, report, err := lattice(lab.Bin, env, args)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %s in all; resources %.0f rows/s (users %.0f rows/s)\n%s", label, time.Since(t0).Round(time.Millisecond),
			rates["resources"], rates["users"], indent(report))
		if i == 0 && !strings.Contains(report, fmt.Sprintf("resources: %d read, %d created", resources, resources)) {
			return fmt.Errorf("the import did not create every resource:\n%s", report)
		}
	}
	return nil
}

// progressLine is the last progress line of a kind: its rate.
var progressLine = regexp.MustCompile(`^(\w+): (\d+)/(\d+) \(\d+%\), (\d+) rows/s$`)

// lattice runs the binary and returns each kind's rate from its last
// progress line, and the report.
func lattice(bin string, env, args []string) (map[string]float64, string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	rates := map[string]float64{}
	var log strings.Builder
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if m := progressLine.FindStringSubmatch(lines.Text()); m != nil {
			rates[m[1]], _ = strconv.ParseFloat(m[4], 64)
		}
	}
	if err := cmd.Wait(); err != nil {
		return nil, "", fmt.Errorf("lattice import: %w\n%s", err, log.String())
	}
	return rates, stdout.String(), nil
}

// fill makes the monolith's tables (as examples/monolith/monolith.py
// declares them) and fills them in the server, with generate_series.
func fill(ctx context.Context, url string, users, resources int) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// A bcrypt hash of "password" at cost 4: the users are not logged in.
	const hash = "$2b$04$0ehisEbhH79wZy0Rit8gCujAxj7aLDsjZV0pczUMm0ZtRkSR2JsWK"
	for _, q := range []string{
		`CREATE TABLE users (id serial PRIMARY KEY, email varchar(320) NOT NULL UNIQUE, full_name varchar(200) NOT NULL,
			password_hash varchar(200) NOT NULL, is_admin boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now())`,
		`CREATE TABLE resources (id serial PRIMARY KEY, owner_id int NOT NULL REFERENCES users(id), title varchar(500) NOT NULL,
			body text NOT NULL DEFAULT '', visibility varchar(20) NOT NULL DEFAULT 'private', tags json NOT NULL, metadata json NOT NULL,
			version int NOT NULL DEFAULT 1, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())`,
		`CREATE TABLE files (id serial PRIMARY KEY, resource_id int NOT NULL REFERENCES resources(id), name varchar(255) NOT NULL,
			content_type varchar(200) NOT NULL, size bigint NOT NULL, sha256 varchar(64) NOT NULL, path varchar(1000) NOT NULL,
			created_at timestamptz NOT NULL DEFAULT now())`,
		fmt.Sprintf(`INSERT INTO users (email, full_name, password_hash)
			SELECT 'user' || i || '@monolith.example', 'User ' || i, '%s' FROM generate_series(1, %d) i`, hash, users),
		fmt.Sprintf(`INSERT INTO resources (owner_id, title, body, visibility, tags, metadata, created_at, updated_at)
			SELECT 1 + i %% %d, 'Note ' || i, 'Body of note ' || i || ': ' || repeat('lorem ipsum ', 20),
			       (ARRAY['private', 'internal', 'public'])[1 + i %% 3],
			       json_build_array('tag' || i %% 50, 'team' || i %% 7),
			       json_build_object('source', 'monolith', 'n', i::text, 'project', 'p' || i %% 100),
			       now() - i * interval '1 minute', now() - i * interval '30 seconds'
			FROM generate_series(1, %d) i`, users, resources),
		`ANALYZE`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}
