package resourcesvc

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// TestCloseRemovesTheScratchBlobDirectory: a service given no blob store
// keeps its files in a temporary directory, and Close removes it.
func TestCloseRemovesTheScratchBlobDirectory(t *testing.T) {
	t.Parallel()
	svc, err := New(context.Background(), Config{DatabaseURL: testinfra.MySQL(t)}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NotEmpty(t, svc.scratch)
	require.DirExists(t, svc.scratch)
	svc.Close()
	_, err = os.Stat(svc.scratch)
	require.ErrorIs(t, err, os.ErrNotExist)
}
