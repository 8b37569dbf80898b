package postgres_test

import (
	"testing"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// TestMain stops the containers the tests started, then fails the run if
// they leave goroutines running.
func TestMain(m *testing.M) { testinfra.Run(m) }
