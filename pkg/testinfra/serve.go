package testinfra

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// allServices are those `lattice serve --target=all` runs.
var allServices = []string{"auth", "resource", "search", "processing", "analytics", "gateway"}

// ServeAll starts `lattice serve --target=all` with every listener on port 0
// (unless dbEnv names a service's <NAME>_ADDR) and the databases in dbEnv,
// waits until every service logs that it is serving, and returns the
// process and the gateway's base URL (read from its log line; the process
// wires its services to each other's bound addresses and makes the
// gateway's its public URL).
func ServeAll(t *testing.T, dbEnv []string) (*exec.Cmd, string) {
	t.Helper()
	p := Serve(t, dbEnv)
	return p.Cmd, p.Gateway()
}

// Served is a running `lattice serve --target=all`.
type Served struct {
	Cmd   *exec.Cmd
	Admin map[string]string // service → base URL of its admin listener (/metrics, probes)
	Addrs map[string]string // service → base URL of its public listener
}

// Gateway is the gateway's base URL.
func (s *Served) Gateway() string { return s.Addrs["gateway"] }

// Serve is ServeAll, also telling each service's public and admin listeners.
func Serve(t *testing.T, dbEnv []string) *Served {
	t.Helper()
	env := slices.Clone(dbEnv)
	for _, s := range allServices {
		upper := strings.ToUpper(s)
		if !slices.ContainsFunc(dbEnv, func(kv string) bool { return strings.HasPrefix(kv, upper+"_ADDR=") }) {
			env = append(env, upper+"_ADDR=127.0.0.1:0")
		}
		env = append(env, upper+"_ADMIN_ADDR=127.0.0.1:0")
	}
	cmd := exec.Command(LatticeBinary(t), "serve", "--target=all")
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready, exited := make(chan struct{}), make(chan struct{})
	admin, addrs := map[string]string{}, map[string]string{} // written by the log reader until it closes ready
	var logMu sync.Mutex
	var jobLog []string // the processing service's job lines, shown if the test fails
	t.Cleanup(func() {
		if t.Failed() {
			logMu.Lock()
			defer logMu.Unlock()
			t.Logf("lattice job log:\n%s", strings.Join(jobLog, "\n"))
		}
	})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		serving := 0
		for sc.Scan() {
			if line := sc.Text(); strings.Contains(line, `"job`) {
				logMu.Lock()
				if len(jobLog) < 500 {
					jobLog = append(jobLog, line)
				}
				logMu.Unlock()
			}
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			if serving == len(allServices) {
				continue // the maps are the caller's now
			}
			service, _ := rec["service"].(string)
			addr, _ := rec["addr"].(string)
			switch rec["msg"] {
			case "serving metrics":
				admin[service] = "http://" + addr
			case "serving":
				addrs[service] = "http://" + addr
				if serving++; serving == len(allServices) {
					close(ready)
				}
			}
		}
	}()
	select {
	case <-ready:
		require.NotEmpty(t, addrs["gateway"], "the gateway said where it serves")
		return &Served{Cmd: cmd, Admin: admin, Addrs: addrs}
	case <-exited:
		_ = cmd.Wait()
		t.Fatalf("lattice serve exited before it was ready: %v", cmd.ProcessState)
	case <-time.After(60 * time.Second):
		t.Fatal("lattice serve did not start within 60s")
	}
	return nil
}

// PlatformEnv is the environment of a whole platform with fresh
// databases; ServeAll adds the ports.
func PlatformEnv(t *testing.T) []string {
	t.Helper()
	return append(os.Environ(),
		"AUTH_DATABASE_URL="+Postgres(t), "REDIS_URL=", "LOG_LEVEL=info", "LATTICE_DATA_DIR="+t.TempDir(),
		"RESOURCE_DATABASE_URL="+MySQL(t), "SEARCH_DATABASE_URL="+MySQL(t),
		"ANALYTICS_DATABASE_URL="+Postgres(t))
}
