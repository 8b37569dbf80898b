package s3blob_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/s3blob"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func TestBlobStore(t *testing.T) {
	portstest.BlobStore(t, func(t *testing.T) ports.BlobStore {
		srv := testinfra.S3Server(t)
		s, err := s3blob.New(context.Background(), s3blob.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
		require.NoError(t, err)
		return s
	})
}
