package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/bench/internal/launch"
	"github.com/lattice-platform/lattice/pkg/target"
)

// The -callgrind mode counts the instructions a gateway runs per proxied
// request under valgrind's callgrind, instead of timing it. The count is
// the same on a busy machine as on a quiet one, where the rounds' req/s
// and CPU per request drift by more than a change of a few per cent moves
// them. It covers the process's own code only, the runtime and every
// goroutine included (usage batches, the log writer); the kernel's part of
// a request, its system calls, is not in it: the rounds measure that; nor
// is garbage collection, which is off while it counts.

// warmRequests are sent before counting: the verified-token cache, the
// limiter's buckets, the pools and the upstream connections are then in
// the state they keep under load.
const warmRequests = 200

// build is one gateway binary to count, with its environment.
type build struct {
	name, bin string
	env       []string
	// floor, when set, is a bare proxy of that kind (-floors) run from
	// this program instead of a gateway, so that a gateway's count can be
	// set beside what a proxy with none of its work runs.
	floor string
}

// countInstructions runs each build as a gateway under callgrind, with
// env and its own addresses, sends it n requests to path with token after
// the warm-up, one after another, and prints its instructions per request.
func (b *bench) countInstructions(ctx context.Context, builds []build, env []string, path, token string, n int) error {
	for _, tool := range []string{"valgrind", "callgrind_control"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (apt-get install valgrind)", tool)
		}
	}
	fmt.Printf("instructions per request under callgrind: %d warm-up requests, then %d counted, one at a time\n", warmRequests, n)
	counts := make([]float64, len(builds))
	for i, bd := range builds {
		per, err := b.countOne(ctx, bd, env, path, token, n)
		if err != nil {
			return fmt.Errorf("%s: %w\n%s's last output under valgrind:\n%s", bd.name, err, bd.name, tail(b.lab.Log(bd.name+"-callgrind"), 16<<10))
		}
		counts[i] = per
		fmt.Printf("%-12s %10.0f instructions per request\n", bd.name, per)
	}
	for i := 1; i < len(builds); i++ {
		fmt.Printf("%s/%s %.3f\n", builds[0].name, builds[i].name, counts[0]/counts[i])
	}
	return nil
}

func (b *bench) countOne(ctx context.Context, bd build, env []string, path, token string, n int) (float64, error) {
	addr, admin := freeAddr(), freeAddr()
	out := filepath.Join(b.lab.Dir, bd.name+".callgrind")
	logf, err := os.Create(b.lab.Log(bd.name + "-callgrind"))
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	program := []string{bd.bin, "serve", "--target=gateway"}
	if bd.floor != "" {
		self, err := os.Executable()
		if err != nil {
			return 0, err
		}
		program = []string{self, proxyEnv, bd.floor}
		env = append(env, proxyEnv+"="+b.proxySpec(bd.floor, addr, b.upstreamURL))
	}
	cmd := exec.Command("valgrind", append([]string{"--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=" + out}, program...)...)
	// callgrind fails an assertion on the signal Go's scheduler preempts
	// goroutines with; preemption at function calls remains. Valgrind
	// 3.19 does not know RDTSCP, which the runtime reads its clock with on
	// CPUs that have it (a SIGILL): cpu.rdtscp=off takes the older path. Without
	// collection the count repeats: one cycle more or less in the window
	// moved it by 5-7 %. Collection's cost follows the allocations, which
	// the in-process benchmark counts. A gateway keeps the rest of its
	// GODEBUG (its target's settings, a variant's); valgrind's two win.
	godebug := "asyncpreemptoff=1,cpu.rdtscp=off"
	if bd.floor == "" {
		godebug, _ = target.WithGODEBUG(godebug, lastValue(append(env, bd.env...), "GODEBUG"))
	}
	cmd.Env = append(append(append(os.Environ(), env...), bd.env...), "GATEWAY_ADDR="+addr, "GATEWAY_ADMIN_ADDR="+admin,
		"LATTICE_DATA_DIR="+filepath.Join(b.lab.Dir, bd.name+"-callgrind"), "GODEBUG="+godebug, "GOGC=off", "GOMEMLIMIT=")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := b.lab.Start(cmd); err != nil {
		return 0, err
	}
	url := "http://" + addr + path
	if err := launch.WaitReadyWithin(ctx, "http://"+addr+"/readyz", 5*time.Minute); err != nil {
		return 0, err
	}
	client := &http.Client{Timeout: time.Minute}
	if err := sendEach(client, url, token, warmRequests); err != nil {
		return 0, err
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	if err := exec.Command("callgrind_control", "--instr=on", pid).Run(); err != nil {
		return 0, fmt.Errorf("callgrind_control --instr=on: %w", err)
	}
	if err := sendEach(client, url, token, n); err != nil {
		return 0, err
	}
	if err := exec.Command("callgrind_control", "--dump", pid).Run(); err != nil {
		return 0, fmt.Errorf("callgrind_control --dump: %w", err)
	}
	total, err := dumpedInstructions(out)
	if err != nil {
		return 0, err
	}
	if b.callgrindKeep != "" {
		if err := copyFile(out+".1", filepath.Join(b.callgrindKeep, bd.name+".callgrind")); err != nil {
			return 0, fmt.Errorf("-callgrind-keep: %w", err)
		}
	}
	return float64(total) / float64(n), nil
}

// sendEach sends n GETs to url with token, one after another, each read
// whole; any answer but 200 fails.
func sendEach(client *http.Client, url, token string, n int) error {
	for range n {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
		}
	}
	return nil
}

// dumpedInstructions reads the instructions counted in the dump
// callgrind_control --dump wrote next to out (out.1, the first dump; the
// process's final dump at exit goes to out itself).
func dumpedInstructions(out string) (int64, error) {
	f, err := os.Open(out + ".1")
	if err != nil {
		return 0, fmt.Errorf("callgrind's dump: %w", err)
	}
	defer f.Close()
	return totalIr(f)
}

// totalIr is the event total of a callgrind dump: its "summary:" line
// (or "totals:", which some versions write), whose first number is Ir.
func totalIr(r io.Reader) (int64, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		for _, key := range []string{"summary:", "totals:"} {
			if rest, ok := strings.CutPrefix(line, key); ok {
				fields := strings.Fields(rest)
				if len(fields) == 0 {
					return 0, fmt.Errorf("callgrind's dump: %q has no count", line)
				}
				return strconv.ParseInt(fields[0], 10, 64)
			}
		}
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("callgrind's dump has no summary line")
}

// copyFile copies the file src to dst, creating dst's directory.
func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// tail is the end of the file at path, at most n bytes of it, or why it
// could not be read.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// lastValue is key's value in env as a process would see it: the last
// "key=…" wins (os/exec keeps the last of duplicates); "" if none.
func lastValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}
