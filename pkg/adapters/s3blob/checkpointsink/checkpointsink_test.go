package checkpointsink_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/s3blob"
	"github.com/lattice-platform/lattice/pkg/adapters/s3blob/checkpointsink"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/app/porttest"
	analyticsdomain "github.com/lattice-platform/lattice/services/analytics/domain"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func TestCheckpointSink(t *testing.T) {
	porttest.CheckpointSink(t, func(t *testing.T) app.CheckpointSink { return checkpointSink(t) })
}

// In a bucket with Object Lock (the sink creates its bucket so), an
// exported checkpoint can be neither overwritten nor deleted.
func TestCheckpointObjectsAreLocked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := testinfra.S3Server(t)
	cfg := s3blob.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	sink, err := checkpointsink.New(ctx, checkpointsink.Config{Config: cfg})
	require.NoError(t, err)
	require.True(t, sink.Locked())
	at := time.Now()
	require.NoError(t, sink.Export(ctx, analyticsdomain.Checkpoint{Seq: 7, At: at, KeyID: "k1", Signature: []byte("sig")}))

	client := s3.New(s3.Options{BaseEndpoint: aws.String(cfg.Endpoint), Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")})
	list, err := client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &cfg.Bucket})
	require.NoError(t, err)
	require.Len(t, list.Versions, 1)
	v := list.Versions[0]
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: &cfg.Bucket, Key: v.Key, Body: strings.NewReader(`{"seq":7,"forged":true}`)})
	if err == nil { // a versioned bucket may take a new version; the locked one stays
		got, err := sink.Exported(ctx, 7, 7)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, []byte("sig"), got[0].Signature, "the exported checkpoint is unchanged")
	}
	_, err = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &cfg.Bucket, Key: v.Key, VersionId: v.VersionId})
	require.Error(t, err, "a locked checkpoint cannot be deleted")
}

// A checkpoint object larger than any real one (a few hundred bytes) is
// refused, not read without end.
func TestCheckpointSinkRefusesAnOversizedObject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := testinfra.S3Server(t)
	cfg := s3blob.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	sink, err := checkpointsink.New(ctx, checkpointsink.Config{Config: cfg})
	require.NoError(t, err)
	client := s3.New(s3.Options{BaseEndpoint: aws.String(cfg.Endpoint), Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")})
	key := "audit-checkpoints/00000000000000000003-00000000000000000001.json"
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: &cfg.Bucket, Key: &key,
		Body: strings.NewReader(`{"seq":3,"key_id":"` + strings.Repeat("k", 8<<10) + `"}`)})
	require.NoError(t, err)
	_, err = sink.Exported(ctx, 1, 10)
	require.Error(t, err)
}

func checkpointSink(t *testing.T) *checkpointsink.Sink {
	srv := testinfra.S3Server(t)
	s, err := checkpointsink.New(context.Background(), checkpointsink.Config{Config: s3blob.Config{
		Endpoint: srv.Endpoint, Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}})
	require.NoError(t, err)
	return s
}
