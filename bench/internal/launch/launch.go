// Package launch starts what the bench programs measure: the lattice
// binary built from this checkout, its processes with their output in a
// scratch directory, and fresh databases they drop when done. Benchmarks
// are programs, not tests, so this is testinfra's counterpart without a
// testing.T.
package launch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Lab is a scratch directory, the lattice binary built into it, and the
// processes started from it. Close stops them and removes the directory.
type Lab struct {
	Dir   string // scratch directory: logs, data, the binary
	Bin   string // the lattice binary
	procs []*exec.Cmd
	drops []func()
}

// New builds ./cmd/lattice (run from the repository's root) into a new
// scratch directory whose name starts with prefix.
func New(prefix string) (*Lab, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	l := &Lab{Dir: dir, Bin: filepath.Join(dir, "lattice")}
	// The extractor program goes beside it, as `make build` places it.
	if out, err := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/lattice", "./cmd/lattice-extract").CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("build lattice: %w\n%s", err, out)
	}
	return l, nil
}

// Close stops every process started, the latest first (an interrupt, then
// a kill after 15 s), drops the databases and removes the directory.
func (l *Lab) Close() {
	for i := len(l.procs) - 1; i >= 0; i-- {
		p := l.procs[i]
		_ = p.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	for i := len(l.drops) - 1; i >= 0; i-- {
		l.drops[i]()
	}
	_ = os.RemoveAll(l.Dir)
}

// Serve runs `lattice serve --target=target` with env added to this
// process's environment; its output goes to <Dir>/<target>.log.
func (l *Lab) Serve(target string, env []string) (*exec.Cmd, error) {
	return l.ServeAs(target, target, env)
}

// ServeAs is Serve for a second process of one target: its output goes to
// l.Log(name).
func (l *Lab) ServeAs(name, target string, env []string) (*exec.Cmd, error) {
	return l.ServeBin(name, "", target, env)
}

// ServeBin is ServeAs from another lattice binary (empty: the lab's), to
// measure two builds side by side.
func (l *Lab) ServeBin(name, bin, target string, env []string) (*exec.Cmd, error) {
	if bin == "" {
		bin = l.Bin
	}
	logf, err := os.Create(l.Log(name))
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "serve", "--target="+target)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	return cmd, l.Start(cmd)
}

// Start starts cmd; Close stops it.
func (l *Lab) Start(cmd *exec.Cmd) error {
	// If this program is killed before Close, its processes are told to
	// stop too rather than run on, holding ports and CPU (Linux).
	cmd.SysProcAttr = withParentDeathSignal(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		return err
	}
	l.procs = append(l.procs, cmd)
	return nil
}

// Log is the file a target's output goes to.
func (l *Lab) Log(target string) string { return filepath.Join(l.Dir, target+".log") }

// Pids maps the started processes' ids to their command lines (program
// name and arguments), for CPU figures.
func (l *Lab) Pids() map[int]string {
	m := map[int]string{}
	for _, p := range l.procs {
		m[p.Process.Pid] = filepath.Base(p.Path) + " " + strings.Join(p.Args[1:], " ")
	}
	return m
}

// name is a database name nobody else uses.
func name(prefix string) string {
	return prefix + "_" + strconv.FormatUint(rand.Uint64()%1e12, 36)
}

// Postgres creates an empty database on the server of pgURL (any
// database on it) and returns its URL; Close drops it.
func (l *Lab) Postgres(ctx context.Context, pgURL, prefix string) (string, error) {
	admin, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return "", fmt.Errorf("PostgreSQL: %w", err)
	}
	db := name(prefix)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		admin.Close(ctx)
		return "", err
	}
	l.drops = append(l.drops, func() {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
		admin.Close(context.Background())
	})
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + db
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// MySQL creates an empty database on the server of dsn (a
// go-sql-driver/mysql DSN) and returns a DSN for it; Close drops it.
func (l *Lab) MySQL(ctx context.Context, dsn, prefix string) (string, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("MySQL DSN: %w", err)
	}
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return "", err
	}
	db := name(prefix)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+db); err != nil {
		_ = admin.Close()
		return "", fmt.Errorf("MySQL: %w", err)
	}
	l.drops = append(l.drops, func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+db)
		_ = admin.Close()
	})
	cfg.DBName = db
	return cfg.FormatDSN(), nil
}

// WaitReady polls url until it answers 200, for at most 90 s.
func WaitReady(ctx context.Context, url string) error {
	return WaitReadyWithin(ctx, url, 90*time.Second)
}

// WaitReadyWithin is WaitReady for up to limit (a process under valgrind
// starts in tens of seconds).
func WaitReadyWithin(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready within %s", url, limit)
}

// CreateClient registers a confidential client with the client-credentials
// grant and the given scopes, as an operator does (`lattice client create`
// with the auth store of env).
func (l *Lab) CreateClient(env []string, scopes string) (id, secret string, err error) {
	cmd := exec.Command(l.Bin, "client", "create", "--name", "bench", "--type", "confidential",
		"--grant", "client_credentials", "--scope", scopes)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("lattice client create: %w", err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "client_id="); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(line, "client_secret="); ok {
			secret = v
		}
	}
	if id == "" || secret == "" {
		return "", "", errors.New("lattice client create printed no client")
	}
	return id, secret, nil
}

var accessToken = regexp.MustCompile(`"access_token"\s*:\s*"([^"]+)"`)

// MintToken asks auth (its base URL) for a client-credentials token.
func MintToken(auth, id, secret string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	resp, err := http.PostForm(auth+"/oauth2/token", form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token: %s", resp.Status)
	}
	m := accessToken.FindSubmatch(body)
	if m == nil {
		return "", errors.New("token: no access_token in the answer")
	}
	return string(m[1]), nil
}

// CPUProfile takes a CPU profile, for d, of the process whose admin
// listener (ADMIN_PPROF=true) is at admin, into file.
func CPUProfile(admin string, d time.Duration, file string) error {
	return pprofInto(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", admin, max(int(d.Seconds()), 1)), d, file)
}

// Trace takes a runtime execution trace, for d, of the process whose
// admin listener (ADMIN_PPROF=true) is at admin, into file (go tool trace).
func Trace(admin string, d time.Duration, file string) error {
	return pprofInto(fmt.Sprintf("%s/debug/pprof/trace?seconds=%g", admin, d.Seconds()), d, file)
}

// pprofSlack is how much longer than what it records a pprof endpoint may
// take to answer before the harness gives up on a stuck process.
var pprofSlack = 30 * time.Second

// pprofInto writes what the pprof endpoint at url, recording for d,
// answers into file.
func pprofInto(url string, d time.Duration, file string) error {
	resp, err := (&http.Client{Timeout: d + pprofSlack}).Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
