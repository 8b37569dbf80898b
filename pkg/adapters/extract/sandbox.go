package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/processing/app"
)

// Limits bound one extraction in the child process. Zero values take the
// defaults.
type Limits struct {
	CPU      time.Duration // CPU time (RLIMIT_CPU); default 20s
	Memory   int64         // heap in bytes; default 512 MiB (RLIMIT_AS is this plus RuntimeReserve)
	Wall     time.Duration // wall-clock time, then the child is killed; default 60s
	MaxInput int64         // bytes of file read; default 32 MiB
	MaxText  int64         // bytes of text returned; default 16 MiB
}

func (l Limits) withDefaults() Limits {
	if l.CPU <= 0 {
		l.CPU = 20 * time.Second
	}
	if l.Memory <= 0 {
		l.Memory = 512 << 20
	}
	if l.Wall <= 0 {
		l.Wall = 60 * time.Second
	}
	if l.MaxInput <= 0 {
		l.MaxInput = 32 << 20
	}
	if l.MaxText <= 0 {
		l.MaxText = 16 << 20
	}
	return l
}

// Sandbox implements app.TextExtractor by running the parsers in a child
// process (`lattice extract`) under CPU, memory and wall-clock limits. The
// parsers of untrusted files (a PDF whose page tree loops, a deflate bomb,
// HTML nested beyond reason) can then at worst exhaust the child, never
// the worker: the child is killed and the file rejected.
type Sandbox struct {
	// Command starts the child; the content type and limits are appended
	// as flags. Default: lattice-extract beside this executable
	// (cmd/lattice-extract, a small program that starts in a few
	// milliseconds) when it is there, else this executable's `extract`
	// command.
	Command []string
	Limits  Limits
}

var _ app.TextExtractor = Sandbox{}

// ExtractorName is the file name of the extractor program
// (cmd/lattice-extract).
const ExtractorName = "lattice-extract"

// CommandBeside is the default child command for the lattice executable
// exe: the extractor program in the same directory if there is one, else
// exe's own `extract` command, which does the same work but starts the
// whole platform's packages first.
func CommandBeside(exe string) []string {
	small := filepath.Join(filepath.Dir(exe), ExtractorName)
	if fi, err := os.Stat(small); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
		return []string{small}
	}
	return []string{exe, "extract"}
}

// defaultCommand is CommandBeside for this executable, looked up once, not
// for every file.
var defaultCommand = sync.OnceValues(func() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("extract: find the lattice executable: %w", err)
	}
	return CommandBeside(exe), nil
})

// RuntimeReserve is the address space the Go runtime reserves at start
// (its page summaries and arena hints: 1.2 GiB on linux/amd64, nearly all
// of it never backed by memory). The child's address-space limit is the
// heap budget on top of it.
const RuntimeReserve = 1536 << 20

// Reasons a file is rejected for, shown to its owner.
const (
	ReasonTime   = "extraction exceeded its time limit"
	ReasonCPU    = "extraction exceeded its CPU time limit"
	ReasonMemory = "extraction exceeded its memory limit"
	ReasonText   = "the extracted text exceeds its size limit"
)

// childFailure is what the child writes to standard error, as one JSON
// line, when extraction fails in a way it can name.
type childFailure struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// exitClassified is the child's exit status for a named failure.
const exitClassified = 3

// Extract runs the child on r. A file that breaks a limit gets a
// fault.Invalid error whose message says which (permanent: retrying
// cannot help); the child stopped from outside, or ctx ending, gives a
// retryable error.
func (s Sandbox) Extract(ctx context.Context, contentType string, r io.Reader) (string, error) {
	lim := s.Limits.withDefaults()
	command := s.Command
	if len(command) == 0 {
		var err error
		if command, err = defaultCommand(); err != nil {
			return "", err
		}
	}
	wall, cancel := context.WithTimeout(ctx, lim.Wall)
	defer cancel()
	args := append(command[1:len(command):len(command)], "--type="+contentType,
		"--max-input="+strconv.FormatInt(lim.MaxInput, 10), "--max-text="+strconv.FormatInt(lim.MaxText, 10))
	cmd := exec.CommandContext(wall, command[0], args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1",
		// Let the collector work hard before the address-space limit bites.
		"GOMEMLIMIT="+strconv.FormatInt(lim.Memory*3/4, 10))
	// The child dies with its parent, and in its own process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &cappedWriter{buf: &stderr, max: 64 << 10}
	if err := cmd.Start(); err != nil {
		return "", fault.Wrap(fault.Unavailable, "the extractor could not be started", err)
	}
	// The limits are set on the child from here, so they hold whatever
	// the child's own code does; it waits for its input until they are.
	if err := limit(cmd.Process.Pid, lim); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", fault.Wrap(fault.Unavailable, "the extractor's limits could not be set", err)
	}
	go func() {
		// The child stops reading when it has enough or dies; either way
		// the copy ends.
		_, _ = io.Copy(stdin, io.LimitReader(r, lim.MaxInput+1))
		_ = stdin.Close()
	}()
	text, readErr := io.ReadAll(io.LimitReader(stdout, lim.MaxText+1))
	tooMuch := int64(len(text)) > lim.MaxText
	if tooMuch || readErr != nil {
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	switch {
	case tooMuch:
		return "", fault.New(fault.Invalid, ReasonText)
	case ctx.Err() != nil:
		return "", ctx.Err() // the job's deadline or a shutdown: not the file's fault
	case wall.Err() != nil:
		return "", fault.New(fault.Invalid, ReasonTime)
	case waitErr == nil:
		return string(text), nil
	}
	return "", childError(cmd.ProcessState, stderr.Bytes(), lim, waitErr)
}

// childError explains a child that did not exit cleanly.
func childError(st *os.ProcessState, stderr []byte, lim Limits, waitErr error) error {
	if st == nil {
		return fault.Wrap(fault.Unavailable, "the extractor failed", waitErr)
	}
	if st.UserTime()+st.SystemTime() >= lim.CPU {
		return fault.New(fault.Invalid, ReasonCPU)
	}
	if st.ExitCode() == exitClassified {
		var f childFailure
		if json.Unmarshal(bytes.TrimSpace(stderr), &f) == nil {
			for _, k := range []fault.Kind{fault.Invalid, fault.UnsupportedMedia, fault.TooLarge} {
				if f.Kind == k.String() {
					return fault.New(k, f.Message)
				}
			}
		}
	}
	if bytes.Contains(stderr, []byte("out of memory")) || bytes.Contains(stderr, []byte("cannot allocate memory")) {
		return fault.New(fault.Invalid, ReasonMemory)
	}
	// Killed from outside (an operator, the OOM killer) or crashed:
	// worth another attempt, which the job's attempt limit bounds.
	return fault.Wrap(fault.Unavailable, "the extractor stopped before it finished", fmt.Errorf("%w: %s", waitErr, lastLine(stderr)))
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// limit sets the child's resource limits with prlimit(2).
func limit(pid int, lim Limits) error {
	cpu := uint64(lim.CPU.Seconds() + 0.999)
	for _, l := range []struct {
		resource int
		cur, max uint64
	}{
		// The soft limit sends SIGXCPU, which a Go program ignores; the
		// hard limit a second later kills it.
		{unix.RLIMIT_CPU, cpu, cpu + 1},
		{unix.RLIMIT_AS, uint64(lim.Memory + RuntimeReserve), uint64(lim.Memory + RuntimeReserve)},
		{unix.RLIMIT_CORE, 0, 0},  // no core dumps of hostile input
		{unix.RLIMIT_FSIZE, 0, 0}, // the child writes no files
	} {
		rl := unix.Rlimit{Cur: l.cur, Max: l.max}
		if err := unix.Prlimit(pid, l.resource, &rl, nil); err != nil {
			return fmt.Errorf("prlimit %d: %w", l.resource, err)
		}
	}
	return nil
}

// cappedWriter keeps the first max bytes written to it and drops the rest.
type cappedWriter struct {
	buf *bytes.Buffer
	max int
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Main is the child: `lattice extract --type=T` reads a file on standard
// input and writes its text to standard output. A failure it can name is
// one JSON line on standard error and exit status 3.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("extract", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ctype := fs.String("type", "", "the file's content type")
	maxInput := fs.Int64("max-input", 32<<20, "bytes of input read at most")
	maxText := fs.Int64("max-text", 16<<20, "bytes of text written at most")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	text, err := Extractor{MaxBytes: *maxInput}.Extract(context.Background(), *ctype, stdin)
	if err == nil && int64(len(text)) > *maxText {
		err = fault.New(fault.Invalid, ReasonText)
	}
	if err != nil {
		var fe *fault.Error
		f := childFailure{Kind: fault.Invalid.String(), Message: "the file could not be read"}
		if errors.As(err, &fe) {
			f = childFailure{Kind: fe.Kind.String(), Message: fe.Message}
		}
		_ = json.NewEncoder(stderr).Encode(f)
		return exitClassified
	}
	if _, err := io.WriteString(stdout, text); err != nil {
		return 1
	}
	return 0
}
