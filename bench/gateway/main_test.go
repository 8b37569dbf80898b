package main

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/bench/internal/launch"
	redisadapter "github.com/lattice-platform/lattice/pkg/adapters/redis"
	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

// TestMain fails the package's tests if they leave goroutines running.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestParseVariant: -variant takes a name and KEY=VALUE pairs, and
// refuses what would start a gateway other than the one asked for.
func TestParseVariant(t *testing.T) {
	v, err := parseVariant("gogc400:GOGC=400,GOMEMLIMIT=192MiB")
	require.NoError(t, err)
	require.Equal(t, "gogc400", v.name)
	require.Equal(t, []string{"GOGC=400", "GOMEMLIMIT=192MiB"}, v.env)
	require.Empty(t, v.bin, "the lab's own binary")
	for _, bad := range []string{"", "gogc", ":GOGC=1", "x:", "x:GOGC", "x:=1", "x:GOGC=1,,"} {
		_, err := parseVariant(bad)
		require.Error(t, err, "%q", bad)
	}
}

// TestScript: without fresh tokens the header is set once (no Lua function
// per request); with them, the function sends a fresh token on the share
// asked for; with a think time, delay() returns it in milliseconds.
func TestScript(t *testing.T) {
	b := &bench{lab: &launch.Lab{Dir: t.TempDir()}}
	file, err := b.script("steady", "tok", nil, 0)
	require.NoError(t, err)
	text, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "wrk.headers[\"Authorization\"] = \"Bearer tok\"\n", string(text))

	file, err = b.script("fresh", "tok", []string{"f1", "f2"}, 0.05)
	require.NoError(t, err)
	text, err = os.ReadFile(file)
	require.NoError(t, err)
	require.Contains(t, string(text), "request = function()")
	require.Contains(t, string(text), `local fresh = {"Bearer f1","Bearer f2"}`)
	require.Contains(t, string(text), "local every, n = 20, 0")
	info, err := os.Stat(file)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "tokens stay private")

	b.think = 2 * time.Millisecond
	file, err = b.script("paced", "tok", nil, 0)
	require.NoError(t, err)
	text, err = os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "wrk.headers[\"Authorization\"] = \"Bearer tok\"\ndelay = function() return 2 end\n", string(text))
}

// TestProxySpec: a bare proxy is told its address and upstream; fast-gw,
// which checks tokens, also auth's address and the issuer, whether it runs
// under wrk's rounds or under callgrind.
func TestProxySpec(t *testing.T) {
	b := &bench{authURL: "http://127.0.0.1:9", issuer: "http://issuer"}
	require.Equal(t, "fasthttp 127.0.0.1:1 http://127.0.0.1:2", b.proxySpec("fasthttp", "127.0.0.1:1", "http://127.0.0.1:2"))
	require.Equal(t, "fast-gw 127.0.0.1:1 http://127.0.0.1:2 http://127.0.0.1:9 http://issuer",
		b.proxySpec("fast-gw", "127.0.0.1:1", "http://127.0.0.1:2"))
}

// TestPerfRecord: perf samples the one process for the run's length less
// the warm-up second, on the software clock (these machines have no
// hardware counters), with call graphs.
func TestPerfRecord(t *testing.T) {
	require.Equal(t, []string{"record", "-F", "4000", "-g", "-e", "cpu-clock", "-p", "4242", "-o", "/tmp/gw.perf", "--", "sleep", "9.5"},
		perfRecord(4242, 9500*time.Millisecond, "/tmp/gw.perf"))
	require.Equal(t, "1", perfRecord(1, 0, "f")[12], "at least a second")
}

// TestRedisFigures: Redis's CPU and script runs become per-request
// figures, and a gateway run that charged nothing in Redis (its limiter
// failing open) stops the benchmark instead of passing for a result.
func TestRedisFigures(t *testing.T) {
	r := result{rps: 2000}
	line, err := redisFigures(redisadapter.ServerCounters{ScriptRuns: 2500, CPU: 500 * time.Millisecond}, &r, 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, 50*time.Microsecond, r.redisPerReq)
	require.InDelta(t, 4.0, r.reqsPerRun, 1e-9)
	require.Equal(t, "; Redis 50.0µs CPU/req, 4.0 req/script run", line)

	_, err = redisFigures(redisadapter.ServerCounters{CPU: time.Millisecond}, &result{rps: 2000}, 5*time.Second)
	require.ErrorContains(t, err, "no budget was charged in Redis")
}

// TestMedianTakesEachFigure: each figure's median is its own, Redis's
// included.
func TestMedianTakesEachFigure(t *testing.T) {
	m := median([]result{
		{rps: 3, cpuPerReq: 1, redisPerReq: 30 * time.Microsecond, reqsPerRun: 2, worstSecondP99: 9},
		{rps: 1, cpuPerReq: 3, redisPerReq: 10 * time.Microsecond, reqsPerRun: 4, worstSecondP99: 7},
		{rps: 2, cpuPerReq: 2, redisPerReq: 20 * time.Microsecond, reqsPerRun: 3, worstSecondP99: 8},
	})
	require.InDelta(t, 2, m.rps, 0)
	require.Equal(t, time.Duration(8), m.worstSecondP99)
	require.Equal(t, time.Duration(2), m.cpuPerReq)
	require.Equal(t, 20*time.Microsecond, m.redisPerReq)
	require.InDelta(t, 3, m.reqsPerRun, 0)
}

// TestFirstWorst counts the rounds whose worst second was their first.
func TestFirstWorst(t *testing.T) {
	require.Equal(t, "(the first in 2 of 3)", firstWorst([]result{{worstSecond: 1}, {worstSecond: 7}, {worstSecond: 1}}))
	require.Equal(t, "(the first in 0 of 1)", firstWorst([]result{{worstSecond: 10}}))
	require.Equal(t, "(the first in 0 of 0)", firstWorst(nil))
}

// TestCheckThink: whole milliseconds pass; a negative or fractional think
// time is refused rather than rounded by wrk.
func TestCheckThink(t *testing.T) {
	for _, ok := range []time.Duration{0, time.Millisecond, 2 * time.Millisecond, time.Second} {
		require.NoError(t, checkThink(ok), ok)
	}
	for _, bad := range []time.Duration{-time.Millisecond, time.Microsecond, 1500 * time.Microsecond} {
		require.Error(t, checkThink(bad), bad)
	}
}
