// Package s3blob implements ports.BlobStore on an S3-compatible server
// (SeaweedFS in production, versitygw in tests) with aws-sdk-go-v2:
// path-style addressing, static credentials (never instance metadata), and
// the transfer manager so streams of unknown length upload in parts.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Config names the server and bucket.
type Config struct {
	Endpoint  string // e.g. http://127.0.0.1:7070
	Region    string // default us-east-1
	Bucket    string
	AccessKey string
	SecretKey string
}

// Store is a bucket of blobs.
type Store struct {
	client   *s3.Client
	uploader *transfermanager.Client
	bucket   string
}

var _ ports.BlobStore = (*Store)(nil)

// New returns a store and creates the bucket if it does not exist.
func New(ctx context.Context, cfg Config) (*Store, error) {
	client, err := OpenBucket(ctx, cfg, &s3.CreateBucketInput{Bucket: &cfg.Bucket})
	if err != nil {
		return nil, err
	}
	return &Store{client: client, uploader: transfermanager.New(client), bucket: cfg.Bucket}, nil
}

// OpenBucket returns a client of cfg's server (path-style, static
// credentials) and creates the bucket with create when it does not exist.
func OpenBucket(ctx context.Context, cfg Config, create *s3.CreateBucketInput) (*s3.Client, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(cfg.Endpoint), Region: cfg.Region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
	})
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &cfg.Bucket}); err != nil {
		if _, err := client.CreateBucket(ctx, create); err != nil {
			var owned *types.BucketAlreadyOwnedByYou
			if !errors.As(err, &owned) {
				return nil, fmt.Errorf("s3: create bucket %s: %w", cfg.Bucket, err)
			}
		}
	}
	return client, nil
}

// Put uploads r.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, contentType string) (int64, error) {
	counter := &countingReader{r: r}
	_, err := s.uploader.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: &s.bucket, Key: &key, Body: counter, ContentType: aws.String(contentType)})
	if err != nil {
		return 0, fmt.Errorf("s3: put %s: %w", key, err)
	}
	return counter.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open fetches a byte range.
func (s *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}
	switch {
	case length == 0:
		in.Range = nil
	case length > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := s.client.GetObject(ctx, in)
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, ports.ErrBlobNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("s3: get %s: %w", key, err)
	}
	if length == 0 {
		out.Body.Close()
		return io.NopCloser(eof{}), nil
	}
	return out.Body, nil
}

type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }

// Delete removes the object.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return fmt.Errorf("s3: delete %s: %w", key, err)
	}
	return nil
}
