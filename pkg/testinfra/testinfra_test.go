package testinfra_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func TestPostgresGivesEachTestItsOwnDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := testinfra.Postgres(t), testinfra.Postgres(t)
	require.NotEqual(t, a, b)
	conn, err := pgx.Connect(ctx, a)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE TABLE only_here (id int)")
	require.NoError(t, err)
	other, err := pgx.Connect(ctx, b)
	require.NoError(t, err)
	defer other.Close(ctx)
	var n int
	require.NoError(t, other.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'").Scan(&n))
	require.Zero(t, n)
}

func TestMySQLGivesAFreshDatabase(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("mysql", testinfra.MySQL(t))
	require.NoError(t, err)
	defer db.Close()
	var name string
	require.NoError(t, db.QueryRow("SELECT DATABASE()").Scan(&name))
	require.Contains(t, name, "t_testmysqlgivesafreshdatabase")
	var tables int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()").Scan(&tables))
	require.Zero(t, tables)
	var now time.Time
	require.NoError(t, db.QueryRow("SELECT NOW()").Scan(&now), "parseTime is on")
}

// TestMySQLDropsADatabaseATransactionHolds: a test that fails inside a
// transaction leaves it open; its database is dropped all the same, and
// promptly, rather than after the server's lock wait.
func TestMySQLDropsADatabaseATransactionHolds(t *testing.T) {
	t.Parallel()
	var name string
	var db *sql.DB
	var tx *sql.Tx
	t.Run("leaves a transaction open", func(t *testing.T) {
		var err error
		db, err = sql.Open("mysql", testinfra.MySQL(t))
		require.NoError(t, err)
		require.NoError(t, db.QueryRow("SELECT DATABASE()").Scan(&name))
		_, err = db.Exec("CREATE TABLE held (id INT PRIMARY KEY)")
		require.NoError(t, err)
		tx, err = db.Begin()
		require.NoError(t, err)
		_, err = tx.Exec("INSERT INTO held VALUES (1)") // a metadata lock on held until the transaction ends
		require.NoError(t, err)
	})
	defer db.Close()
	defer func() { _ = tx.Rollback() }() // its session is gone: only the client's side is left to end
	admin, err := sql.Open("mysql", testinfra.MySQL(t))
	require.NoError(t, err)
	defer admin.Close()
	var left int
	require.NoError(t, admin.QueryRow("SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&left))
	require.Zero(t, left, "the subtest's database was dropped when it ended")
}

// recordingTB is a testing.TB whose cleanups run when the test says and
// whose errors are kept, for a test of what a cleanup reports.
type recordingTB struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// TestMySQLDropGivesUpAtItsBound: a lock the cleanup cannot end (held by
// a session whose default database is another) makes the drop fail the
// test once its wait is over, instead of hanging it.
func TestMySQLDropGivesUpAtItsBound(t *testing.T) {
	defer testinfra.SetDropWait(time.Second)()
	rec := &recordingTB{TB: t}
	cfg, err := mysql.ParseDSN(testinfra.MySQL(rec))
	require.NoError(t, err)
	name := "`" + cfg.DBName + "`"
	other, err := sql.Open("mysql", testinfra.MySQL(t))
	require.NoError(t, err)
	defer other.Close()
	_, err = other.Exec("CREATE TABLE " + name + ".held (id INT PRIMARY KEY)")
	require.NoError(t, err)
	tx, err := other.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO " + name + ".held VALUES (1)")
	require.NoError(t, err)

	start := time.Now()
	rec.runCleanups()
	waited := time.Since(start)
	require.NoError(t, tx.Rollback())
	require.Len(t, rec.errs, 1)
	require.Contains(t, rec.errs[0], "drop database "+cfg.DBName)
	require.Less(t, waited, 20*time.Second, "the drop gave up at its bound, not the server's")
	_, err = other.Exec("DROP DATABASE IF EXISTS " + name)
	require.NoError(t, err)
}

func TestRedisPrefixesDiffer(t *testing.T) {
	t.Parallel()
	a, b := testinfra.RedisServer(t), testinfra.RedisServer(t)
	require.NotEqual(t, a.Prefix, b.Prefix)
	opts, err := goredis.ParseURL(a.URL)
	require.NoError(t, err)
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	require.NoError(t, rdb.Set(context.Background(), a.Prefix+"k", "v", time.Minute).Err())
	require.Equal(t, "v", rdb.Get(context.Background(), a.Prefix+"k").Val())
}

// TestNATSIsJetStream2_15 checks the embedded server supports what the
// machine's 2.9 server silently ignores: consumers with several filter
// subjects.
func TestNATSIsJetStream2_15(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(testinfra.NATS(t))
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"events.>"}})
	require.NoError(t, err)
	cons, err := js.CreateConsumer(ctx, "EVENTS", jetstream.ConsumerConfig{Durable: "multi",
		FilterSubjects: []string{"events.a", "events.b"}, AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)
	for _, subj := range []string{"events.a", "events.c", "events.b"} {
		_, err := js.Publish(ctx, subj, []byte(subj))
		require.NoError(t, err)
	}
	batch, err := cons.FetchNoWait(10)
	require.NoError(t, err)
	var got []string
	for msg := range batch.Messages() {
		got = append(got, string(msg.Data()))
		require.NoError(t, msg.Ack())
	}
	require.Equal(t, []string{"events.a", "events.b"}, got)
}
