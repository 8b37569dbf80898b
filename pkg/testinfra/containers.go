package testinfra

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/testcontainers/testcontainers-go"
)

var forceContainers atomic.Bool

// lazyContainer starts one container per package on first use.
type lazyContainer struct {
	once sync.Once
	addr string
	err  error
}

func (l *lazyContainer) get(t testing.TB, start func(ctx context.Context, image string) (string, error), imageVar string) string {
	t.Helper()
	l.once.Do(func() {
		ctx := context.Background()
		image := os.Getenv(imageVar)
		if err := checkContainerEnv(ctx, image, imageVar); err != nil {
			l.err = err
			return
		}
		l.addr, l.err = start(ctx, image)
	})
	if l.err != nil {
		t.Fatalf("testinfra: %v", l.err)
	}
	return l.addr
}

// checkContainerEnv refuses to start a container unless the environment
// keeps every connection on loopback and the image is already local, so a
// misconfigured run fails clearly instead of pulling or dialling the
// default gateway. See ../shared/containers/README.md.
func checkContainerEnv(ctx context.Context, image, imageVar string) error {
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") != "127.0.0.1" || os.Getenv("TESTCONTAINERS_RYUK_DISABLED") != "true" {
		return fmt.Errorf("containers need TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 and TESTCONTAINERS_RYUK_DISABLED=true: load /run/lattice-docker.env")
	}
	if image == "" {
		return fmt.Errorf("%s is not set: load /run/lattice-docker.env", imageVar)
	}
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, image); err != nil {
		return fmt.Errorf("image %s is missing; run ../shared/containers/up", image)
	}
	return nil
}
