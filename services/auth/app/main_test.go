package app_test

import (
	"testing"

	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

// TestMain fails the package's tests if they leave goroutines running.
func TestMain(m *testing.M) { leakcheck.Main(m) }
