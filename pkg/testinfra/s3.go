package testinfra

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

var s3Container lazyContainer

// S3 is an S3-compatible server for one test, with a bucket name unique to
// it (the bucket itself is created by the code under test).
type S3 struct {
	Endpoint, AccessKey, SecretKey, Bucket string
}

// S3Server returns the server in TEST_S3_ENDPOINT (with TEST_S3_ACCESS_KEY
// and TEST_S3_SECRET_KEY) or a versitygw container.
func S3Server(t testing.TB) S3 {
	t.Helper()
	bucket := strings.ReplaceAll(strings.TrimPrefix(uniqueName(t), "t_"), "_", "-")
	if len(bucket) > 63 {
		bucket = bucket[len(bucket)-63:]
	}
	bucket = strings.Trim(bucket, "-")
	endpoint, src := pick("TEST_S3_ENDPOINT")
	switch src {
	case fromEnv:
		return S3{Endpoint: endpoint, AccessKey: getenv("TEST_S3_ACCESS_KEY"), SecretKey: getenv("TEST_S3_SECRET_KEY"), Bucket: bucket}
	case fromNowhere:
		unavailable(t, "an S3 server", "TEST_S3_ENDPOINT")
	}
	endpoint = s3Container.get(t, startS3, "LATTICE_TC_S3_IMAGE")
	return S3{Endpoint: endpoint, AccessKey: "lattice", SecretKey: "lattice-secret", Bucket: bucket}
}

func startS3(ctx context.Context, image string) (string, error) {
	return startHTTPContainer(ctx, image, "7070/tcp", "/_health")
}

// startHTTPContainer starts image and waits until path on port answers
// 200, returning the http:// endpoint of port.
func startHTTPContainer(ctx context.Context, image, port, path string) (string, error) {
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        image,
			ExposedPorts: []string{port},
			WaitingFor:   wait.ForHTTP(path).WithPort(port).WithStartupTimeout(60 * time.Second),
		},
		Started: true,
	})
	if ctr != nil {
		registerStop(func(ctx context.Context) error { return testcontainers.TerminateContainer(ctr) })
	}
	if err != nil {
		return "", err
	}
	return ctr.PortEndpoint(ctx, port, "http")
}
