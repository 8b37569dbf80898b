package extract_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/extract"
	"github.com/lattice-platform/lattice/pkg/adapters/extract/extracttest"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

// sandbox runs the real extractor program (cmd/lattice-extract, built
// beside the lattice binary) as the child, with limits small enough for a
// test.
func sandbox(t *testing.T) extract.Sandbox {
	t.Helper()
	program := extract.CommandBeside(testinfra.LatticeBinary(t))
	require.Len(t, program, 1, "the extractor program is built beside lattice")
	return extract.Sandbox{Command: program, Limits: extract.Limits{
		CPU: 2 * time.Second, Memory: 256 << 20, Wall: 6 * time.Second, MaxInput: 32 << 20, MaxText: 1 << 20,
	}}
}

func TestSandboxExtractsOrdinaryFiles(t *testing.T) {
	t.Parallel()
	program := sandbox(t)
	subcommand := program
	subcommand.Command = []string{testinfra.LatticeBinary(t), "extract"}
	for name, sb := range map[string]extract.Sandbox{"lattice-extract": program, "lattice extract": subcommand} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := sb.Extract(context.Background(), "application/pdf", bytes.NewReader(extracttest.TextPDF("Hello from a sandboxed PDF")))
			require.NoError(t, err)
			require.Contains(t, got, "Hello from a sandboxed PDF")
			got, err = sb.Extract(context.Background(), "text/csv", strings.NewReader("name,city\nAda,London\n"))
			require.NoError(t, err)
			require.Equal(t, "name: Ada, city: London", got)
			_, err = sb.Extract(context.Background(), "image/png", strings.NewReader("\x89PNG"))
			require.True(t, fault.Of(err, fault.UnsupportedMedia), "the child's classified errors come back as they were: %v", err)
		})
	}
}

// The default child is the extractor program when it lies, executable,
// beside the lattice executable, and lattice's own `extract` command
// otherwise.
func TestDefaultCommandPrefersTheExtractorBesideLattice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exe := filepath.Join(dir, "lattice")
	require.Equal(t, []string{exe, "extract"}, extract.CommandBeside(exe), "no extractor program")
	program := filepath.Join(dir, extract.ExtractorName)
	require.NoError(t, os.WriteFile(program, []byte("#!/bin/sh\n"), 0o600))
	require.Equal(t, []string{exe, "extract"}, extract.CommandBeside(exe), "not executable")
	require.NoError(t, os.Chmod(program, 0o700))
	require.Equal(t, []string{program}, extract.CommandBeside(exe))
}

// endless is an io.Reader of n bytes of one line: a CSV cell that never
// ends, streamed without being held in memory.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), e.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	e.n -= k
	return int(k), nil
}

// TestHostileFilesAreRejectedWithinTheirLimits: each file that once hung
// or exhausted a worker ends rejected (a permanent error naming the
// reason) within the wall-clock limit, and the worker is untouched.
func TestHostileFilesAreRejectedWithinTheirLimits(t *testing.T) {
	t.Parallel()
	sb := sandbox(t)
	type file struct {
		name, ctype string
		open        func() io.Reader
	}
	var files []file
	for _, f := range extracttest.Hostile(t) {
		files = append(files, file{f.Name, f.ContentType, func() io.Reader { return bytes.NewReader(f.Content) }})
	}
	files = append(files,
		file{"a 200 MB single-line CSV", "text/csv", func() io.Reader { return &endless{n: 200 << 20} }},
		file{"text beyond the output cap", "text/plain", func() io.Reader { return strings.NewReader(strings.Repeat("word ", 300000)) }})
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := sb.Extract(context.Background(), f.ctype, f.open())
			took := time.Since(start)
			require.Error(t, err)
			require.True(t, fault.Of(err, fault.Invalid) || fault.Of(err, fault.TooLarge), "a permanent rejection, got %v", err)
			require.Less(t, took, sb.Limits.Wall+3*time.Second, "within the limits")
			t.Logf("rejected in %v: %v", took.Round(time.Millisecond), err)
		})
	}
}

func TestSandboxStopsWhenTheCallerGivesUp(t *testing.T) {
	t.Parallel()
	sb := sandbox(t)
	sb.Limits.CPU, sb.Limits.Wall = 30*time.Second, 30*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := sb.Extract(ctx, "text/plain", stalled(t))
	require.ErrorIs(t, err, context.DeadlineExceeded, "the job's own deadline is not the file's fault")
}

// TestChildLimitsHoldWhenItIsKilledFromOutside: the limits are set on the
// child by the parent (readable in /proc), and a child killed by someone
// else ends the extraction at once with a retryable error.
func TestChildLimitsHoldWhenItIsKilledFromOutside(t *testing.T) {
	sb := sandbox(t)
	sb.Limits.CPU, sb.Limits.Wall = 30*time.Second, 30*time.Second
	done := make(chan error, 1)
	go func() {
		_, err := sb.Extract(context.Background(), "text/plain", stalled(t))
		done <- err
	}()
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 {
		require.True(t, time.Now().Before(deadline), "the child never appeared")
		pid = childOf(t, os.Getpid())
		time.Sleep(10 * time.Millisecond)
	}
	var limits string
	for time.Now().Before(deadline) { // prlimit runs right after the child starts
		raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "limits"))
		require.NoError(t, err)
		if limits = string(raw); strings.Contains(limits, strconv.Itoa(256<<20+extract.RuntimeReserve)) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.Regexp(t, `Max cpu time\s+30\s+31\s+seconds`, limits)
	require.Regexp(t, fmt.Sprintf(`Max address space\s+%[1]d\s+%[1]d\s+bytes`, 256<<20+extract.RuntimeReserve), limits)
	require.Regexp(t, `Max core file size\s+0\s+0\s+bytes`, limits)

	start := time.Now()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	select {
	case err := <-done:
		require.True(t, fault.Of(err, fault.Unavailable), "killed from outside: worth another attempt, got %v", err)
		require.Less(t, time.Since(start), 3*time.Second)
	case <-time.After(10 * time.Second):
		t.Fatal("the extraction did not end after its child was killed")
	}
}

// stalled is a file whose bytes never finish arriving, so the child
// waits on it until it is stopped.
func stalled(t *testing.T) io.Reader {
	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() })
	return pr
}

// childOf finds a child process of parent running the extractor
// (lattice-extract, or lattice's extract command).
func childOf(t *testing.T, parent int) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := string(stat[bytes.LastIndexByte(stat, ')')+2:])
		fields := strings.Fields(rest)
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if len(fields) > 1 && fields[1] == strconv.Itoa(parent) && bytes.Contains(cmdline, []byte("extract")) {
			return pid
		}
	}
	return 0
}

// hog builds testdata/hog, a child that misbehaves on purpose.
func hog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hog")
	out, err := exec.Command("go", "build", "-o", path, "./testdata/hog").CombinedOutput()
	require.NoError(t, err, string(out))
	return path
}

// TestEveryLimitIsEnforced crosses each limit of the child with a child
// that misbehaves on purpose: CPU time, address space, and wall clock.
// Each ends in a permanent rejection that names the limit.
func TestEveryLimitIsEnforced(t *testing.T) {
	t.Parallel()
	bin := hog(t)
	for _, tc := range []struct {
		mode, reason string
		limits       extract.Limits
	}{
		{"spin", extract.ReasonCPU, extract.Limits{CPU: time.Second, Wall: 30 * time.Second}},
		{"alloc", extract.ReasonMemory, extract.Limits{Memory: 128 << 20, Wall: 30 * time.Second}},
		{"sleep", extract.ReasonTime, extract.Limits{Wall: time.Second}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			sb := extract.Sandbox{Command: []string{bin, tc.mode}, Limits: tc.limits}
			start := time.Now()
			_, err := sb.Extract(context.Background(), "text/plain", strings.NewReader("x"))
			require.True(t, fault.Of(err, fault.Invalid), "a permanent rejection, got %v", err)
			require.EqualError(t, err, tc.reason)
			require.Less(t, time.Since(start), 25*time.Second)
		})
	}
}
