package leakcheck_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

func TestFindReportsARunningGoroutine(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); <-stop }()
	require.Error(t, leakcheck.Find(), "a goroutine left running is reported")
	close(stop)
	<-done
	require.NoError(t, leakcheck.Find())
}
