package fsblob_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/fsblob"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
)

func TestBlobStore(t *testing.T) {
	portstest.BlobStore(t, func(t *testing.T) ports.BlobStore {
		s, err := fsblob.New(t.TempDir())
		require.NoError(t, err)
		return s
	})
}
