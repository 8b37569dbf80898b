package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lattice-platform/lattice/openapi"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

// targetEnv is a whole platform's environment on fresh databases, every
// listener on port 0 and state in a temporary directory.
func targetEnv(t *testing.T) map[string]string {
	t.Helper()
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	env := map[string]string{
		"AUTH_DATABASE_URL": testinfra.Postgres(t), "ANALYTICS_DATABASE_URL": testinfra.Postgres(t),
		"RESOURCE_DATABASE_URL": testinfra.MySQL(t), "SEARCH_DATABASE_URL": testinfra.MySQL(t),
		"LATTICE_DATA_DIR": t.TempDir(), "ANALYTICS_AUDIT_SIGNING_KEY": base64.StdEncoding.EncodeToString(seed),
		"LATTICE_SERVICE_CLIENT_ID": "a-client", "LATTICE_SERVICE_CLIENT_SECRET": "its-secret", "LOG_LEVEL": "warn",
	}
	for _, name := range targetNames() {
		upper := strings.ToUpper(name)
		env[upper+"_ADDR"], env[upper+"_ADMIN_ADDR"] = "127.0.0.1:0", "127.0.0.1:0"
	}
	return env
}

// TestMigrateEveryTarget runs `lattice migrate` for each target of the
// registry and for all, twice (migrations are idempotent): none panics,
// each says what it did.
func TestMigrateEveryTarget(t *testing.T) {
	t.Parallel()
	for _, target := range append(targetNames(), "all") {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			env := targetEnv(t)
			for range 2 {
				var errb strings.Builder
				require.NoError(t, cmdMigrate(context.Background(), []string{"--target=" + target}, &errb, envMap(env)))
				for _, name := range targetNamesOf(target) {
					require.Regexp(t, "(?m)^"+name+": (migrated|no store to migrate)$", errb.String())
				}
			}
		})
	}
}

func targetNamesOf(target string) []string {
	if target == "all" {
		return targetNames()
	}
	return []string{target}
}

// TestServeEveryTarget starts `lattice serve` for each target and for all
// on real databases, checks every public listener answers /healthz and
// every internal one /metrics, and stops it.
func TestServeEveryTarget(t *testing.T) {
	t.Parallel()
	for _, target := range append(targetNames(), "all") {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			want := targetNamesOf(target)
			var mu sync.Mutex
			addrs := map[string]net.Addr{}
			ready := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- cmdServe(ctx, []string{"--target=" + target}, io.Discard, io.Discard, envMap(targetEnv(t)), func(name string, a net.Addr) {
					mu.Lock()
					defer mu.Unlock()
					if addrs[name] = a; len(addrs) == 2*len(want) {
						close(ready)
					}
				})
			}()
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("serve --target=%s stopped: %v", target, err)
			case <-time.After(90 * time.Second):
				t.Fatalf("serve --target=%s did not start", target)
			}
			for _, name := range want {
				for path, listener := range map[string]string{"/healthz": name, "/metrics": name + "-admin"} {
					resp, err := http.Get("http://" + addrs[listener].String() + path)
					require.NoError(t, err)
					resp.Body.Close()
					require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s", listener, path)
				}
			}
			cancel()
			require.NoError(t, <-done)
		})
	}
}

// TestRegistryIsComplete: every target has a name, a port, settings and
// a build step, names and ports are unique, and a target comes after those
// it needs, so --target=all starts them first.
func TestRegistryIsComplete(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	ports := map[int]bool{}
	for _, tg := range registry {
		require.NoError(t, tg.Validate())
		require.False(t, seen[tg.Name], "%s is listed twice", tg.Name)
		require.False(t, ports[tg.Port], "%s reuses port %d", tg.Name, tg.Port)
		for _, need := range tg.Needs {
			require.True(t, seen[need], "%s needs %s, which must come before it", tg.Name, need)
		}
		seen[tg.Name], ports[tg.Port] = true, true
	}
}

// TestReadmeListsEveryTarget: the README's "Running one service" shows
// how to serve each target of the registry.
func TestReadmeListsEveryTarget(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, name := range targetNames() {
		require.Contains(t, string(readme), "bin/lattice serve --target="+name+" ", "README.md shows no way to serve %s", name)
	}
}

// TestEveryTargetHasItsContract: the gateway bundles the public spec from
// the embedded contracts (package openapi), one per target of the
// registry, so a target without a contract, or a contract without a
// target, would leave the public spec and the registry disagreeing.
func TestEveryTargetHasItsContract(t *testing.T) {
	t.Parallel()
	contracts := openapi.Services()
	slices.Sort(contracts)
	names := targetNames()
	slices.Sort(names)
	require.Equal(t, names, contracts, "openapi/<target>.yaml for every target (the gateway's own is gateway.yaml)")
}

// runtimeSetting is a case of a setting serve makes for the Go runtime:
// for these targets and this environment, the value and whether it is set.
type runtimeSetting struct {
	services []string
	lookup   func(string) (string, bool)
	want     int
	set      bool
}

func checkRuntimeSetting(t *testing.T, cases map[string]runtimeSetting, decide func([]string, func(string) (string, bool)) (int, bool)) {
	t.Helper()
	for name, c := range cases {
		n, ok := decide(c.services, c.lookup)
		require.Equal(t, c.set, ok, name)
		require.Equal(t, c.want, n, name)
	}
}

// TestMaxProcs: a process of several targets runs three Ps per core;
// one target, or an operator's GOMAXPROCS, keeps what Go would do.
func TestMaxProcs(t *testing.T) {
	t.Parallel()
	none := envMap(map[string]string{})
	checkRuntimeSetting(t, map[string]runtimeSetting{
		"several targets":           {targetNames(), none, 6, true},
		"two targets":               {[]string{"resource", "search"}, none, 6, true},
		"one target":                {[]string{"search"}, none, 0, false},
		"the operator's GOMAXPROCS": {targetNames(), envMap(map[string]string{"GOMAXPROCS": "2"}), 0, false},
	}, func(services []string, lookup func(string) (string, bool)) (int, bool) {
		return maxProcs(services, lookup, 2)
	})
}

// TestGCPercent: the gateway alone runs with its own GOGC; an operator's
// GOGC, a process of several targets and a target without a setting keep
// what Go would do.
func TestGCPercent(t *testing.T) {
	t.Parallel()
	none := envMap(map[string]string{})
	checkRuntimeSetting(t, map[string]runtimeSetting{
		"the gateway alone":          {[]string{"gateway"}, none, 400, true},
		"the operator's GOGC":        {[]string{"gateway"}, envMap(map[string]string{"GOGC": "100"}), 0, false},
		"an empty GOGC is still set": {[]string{"gateway"}, envMap(map[string]string{"GOGC": ""}), 0, false},
		"several targets":            {targetNames(), none, 0, false},
		"a target without a setting": {[]string{"resource"}, none, 0, false},
	}, gcPercent)
}

// TestMissingGODEBUG: the gateway alone asks for its runtime settings; an
// environment that sets the key (to any value) has them, and a process of
// several targets or a target without settings asks for none.
func TestMissingGODEBUG(t *testing.T) {
	t.Parallel()
	want := gatewaysvc.Target.GODEBUG
	require.NotEmpty(t, want)
	for name, c := range map[string]struct {
		services []string
		env      map[string]string
		missing  []string
	}{
		"the gateway alone":           {[]string{"gateway"}, nil, []string{"schedtrace"}},
		"with other settings only":    {[]string{"gateway"}, map[string]string{"GODEBUG": "madvdontneed=1"}, []string{"schedtrace"}},
		"as its deployments start it": {[]string{"gateway"}, map[string]string{"GODEBUG": want}, nil},
		"the operator's own value":    {[]string{"gateway"}, map[string]string{"GODEBUG": "schedtrace=0"}, nil},
		"several targets":             {targetNames(), nil, nil},
		"a target without settings":   {[]string{"resource"}, nil, nil},
	} {
		_, missing := missingGODEBUG(c.services, envMap(c.env))
		require.Equal(t, c.missing, missing, name)
	}
}

// Where a process runs the gateway, only the gateway's requests hold its
// background work back: the other listeners serve the gateway's proxied
// calls and the background's own (ADR 0061). A process without the
// gateway counts every service's requests.
func TestOnlyTheGatewaysRequestsCountWhereItRuns(t *testing.T) {
	all := []string{"gateway", "auth", "resource", "search", "processing", "analytics"}
	require.True(t, countsForeground("gateway", all))
	for _, svc := range all[1:] {
		require.False(t, countsForeground(svc, all), svc)
		require.True(t, countsForeground(svc, []string{svc}), svc+" alone")
	}
	require.True(t, countsForeground("resource", []string{"resource", "processing"}))
}
