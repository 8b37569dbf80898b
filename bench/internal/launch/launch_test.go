package launch

import (
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(parentEnv) != "" {
		beParent()
		return
	}
	goleak.VerifyTestMain(m)
}

// parentEnv makes the test binary the parent of
// TestProcessesStopWhenTheProgramIsKilled.
const parentEnv = "LAUNCH_TEST_PARENT"

// beParent starts a long sleep through a lab, prints its pid and waits
// to be killed.
func beParent() {
	l := &Lab{Dir: os.TempDir()}
	cmd := exec.Command("sleep", "600")
	if err := l.Start(cmd); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(cmd.Process.Pid)
	_, _ = io.ReadAll(os.Stdin) // until killed
}

// A program killed before Close (kill -9, not an interrupt it handles)
// does not leave its processes running: the kernel tells them to stop.
func TestProcessesStopWhenTheProgramIsKilled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), parentEnv+"=1")
	stdin, err := parent.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	out, err := parent.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, parent.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err, line)
	require.True(t, running(pid), "the child runs while its parent does")

	require.NoError(t, parent.Process.Kill())
	_ = parent.Wait()
	require.Eventually(t, func() bool { return !running(pid) }, 10*time.Second, 20*time.Millisecond,
		"the child outlived its killed parent")
}

// running reports whether pid is a live process (not gone, not a zombie).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// server is the machine's server named by envVar (set by
// scripts/with-test-env); without it the test cannot run, which fails CI.
func server(t *testing.T, envVar string) string {
	v := os.Getenv(envVar)
	if v == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set", envVar)
		}
		t.Skipf("%s is not set (scripts/with-test-env sets it)", envVar)
	}
	return v
}

// A lab's databases exist, empty, until Close, which drops them.
func TestFreshDatabasesAreDroppedOnClose(t *testing.T) {
	ctx := context.Background()
	pgServer, myServer := server(t, "TEST_POSTGRES_DSN"), server(t, "TEST_MYSQL_DSN")
	l := &Lab{Dir: t.TempDir()}
	pgURL, err := l.Postgres(ctx, pgServer, "launch_test")
	require.NoError(t, err)
	myDSN, err := l.MySQL(ctx, myServer, "launch_test")
	require.NoError(t, err)

	pg, err := pgx.Connect(ctx, pgURL)
	require.NoError(t, err)
	var tables int
	require.NoError(t, pg.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables))
	require.Zero(t, tables)
	var pgName string
	require.NoError(t, pg.QueryRow(ctx, "SELECT current_database()").Scan(&pgName))
	require.NoError(t, pg.Close(ctx))

	my, err := sql.Open("mysql", myDSN)
	require.NoError(t, err)
	var myName string
	require.NoError(t, my.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&myName))
	require.Regexp(t, `^launch_test_[0-9a-z]+$`, myName)
	require.NoError(t, my.Close())

	l.Close()

	admin, err := pgx.Connect(ctx, pgServer)
	require.NoError(t, err)
	defer admin.Close(ctx)
	var pgLeft int
	require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", pgName).Scan(&pgLeft))
	require.Zero(t, pgLeft, "the PostgreSQL database is dropped")

	root, err := sql.Open("mysql", myServer)
	require.NoError(t, err)
	defer root.Close()
	var myLeft int
	require.NoError(t, root.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", myName).Scan(&myLeft))
	require.Zero(t, myLeft, "the MySQL database is dropped")
	_, err = os.Stat(l.Dir)
	require.ErrorIs(t, err, os.ErrNotExist, "the scratch directory is removed")
}

// The CPU figures name groups of processes and count only those named.
func TestSpentCountsTheNamedProcesses(t *testing.T) {
	before := CPUSample{at: time.Unix(100, 0), process: map[int]uint64{1: 100, 2: 100}, kernel: map[int]uint64{1: 50, 2: 50}}
	later := CPUSample{at: time.Unix(102, 0), total: 400, idle: 100, process: map[int]uint64{1: 300, 2: 500}, kernel: map[int]uint64{1: 200, 2: 60}}
	group := func(name string) string {
		if name == "one" {
			return "first"
		}
		return ""
	}
	known := map[int]string{1: "one", 2: "two"}
	cores, idle := before.Spent(later, group, known)
	require.Equal(t, map[string]float64{"first": 1}, cores) // 200 ticks in 2 s
	require.InDelta(t, 0.25, idle, 1e-9)
	require.Equal(t, map[string]float64{"first": 0.75}, before.SpentInKernel(later, group, known)) // 150 of them
	require.Equal(t, map[string]time.Duration{"first": 2 * time.Second}, before.Used(later, group, known))
	require.Equal(t, "first 1.00", Cores(cores, []string{"first", "second"}))
}

// A process's figure includes the children it has waited for: a shell
// whose child burns CPU and exits is charged with it.
func TestReadCPUCountsExitedChildren(t *testing.T) {
	cmd := exec.Command("sh", "-c", `sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'; read _`)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	// The parent's own time stays near zero; wait for the child's to be
	// added to it when the child exits.
	deadline := time.Now().Add(30 * time.Second)
	for ReadCPU().process[pid] < 10 { // ticks: 0.1 s
		require.True(t, time.Now().Before(deadline), "the child's CPU never reached its parent's figure")
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTraceAndCPUProfileWriteWhatTheEndpointAnswers: the trace and the
// profile come from a real pprof listener, into their files; a refusal
// is an error and writes nothing.
func TestTraceAndCPUProfileWriteWhatTheEndpointAnswers(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()

	trace := filepath.Join(dir, "run.trace")
	require.NoError(t, Trace(srv.URL, 100*time.Millisecond, trace))
	b, err := os.ReadFile(trace)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "go 1."), "a runtime trace's header, got %q", b[:min(len(b), 16)])

	profile := filepath.Join(dir, "cpu.pprof")
	require.NoError(t, CPUProfile(srv.URL, time.Second, profile))
	_, err = gzipped(profile)
	require.NoError(t, err, "a pprof profile is gzipped protobuf")

	missing := filepath.Join(dir, "none.trace")
	require.ErrorContains(t, Trace(srv.URL+"/nothing", time.Second, missing), "404")
	require.NoFileExists(t, missing)
}

// TestTraceGivesUpOnAStuckProcess: an endpoint that has not answered
// well after the trace's length is an error, not a harness waiting for
// ever.
func TestTraceGivesUpOnAStuckProcess(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	defer func(s time.Duration) { pprofSlack = s }(pprofSlack)
	pprofSlack = 200 * time.Millisecond

	file := filepath.Join(t.TempDir(), "stuck.trace")
	start := time.Now()
	err := Trace(srv.URL, 100*time.Millisecond, file)
	require.ErrorContains(t, err, "Client.Timeout")
	require.Less(t, time.Since(start), 10*time.Second, "given up after the slack, not later")
	require.NoFileExists(t, file)
}

// gzipped reads file through gzip.
func gzipped(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(z)
}
