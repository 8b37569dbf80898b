package testinfra

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var latticeBinary struct {
	once sync.Once
	path string
	err  error
}

// LatticeBinary builds the lattice command once per test process, without
// the race detector, and returns its path. Tests that start `lattice
// extract` children need it: the race detector's shadow memory cannot live
// under the child's address-space limit. The binary is removed by Run.
func LatticeBinary(t testing.TB) string {
	t.Helper()
	b := &latticeBinary
	b.once.Do(func() {
		var root []byte
		if root, b.err = exec.Command("go", "env", "GOMOD").Output(); b.err != nil {
			return
		}
		dir, err := os.MkdirTemp("", "lattice-bin")
		if b.err = err; err != nil {
			return
		}
		registerStop(func(context.Context) error { return os.RemoveAll(dir) })
		b.path = filepath.Join(dir, "lattice")
		// With the extractor program beside it, as `make build` and the
		// image place them, so the processing service runs it.
		build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/lattice", "./cmd/lattice-extract")
		build.Dir = filepath.Dir(strings.TrimSpace(string(root)))
		if out, err := build.CombinedOutput(); err != nil {
			b.err = &buildError{out: string(out), err: err}
		}
	})
	if b.err != nil {
		t.Fatalf("build lattice: %v", b.err)
	}
	return b.path
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }
