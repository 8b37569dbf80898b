// Package deploy_test runs Lattice as separate containers on the machine's
// container engine (../shared/containers): the one image built by
// scripts/build-image (make image), each service in a container of its
// own, reaching its store by name on a user-defined network, with ports
// published on 127.0.0.1 only.
package deploy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

var (
	buildOnce  sync.Once
	builtImage string
	buildErr   error
)

// needEngine skips t without the container engine, or fails it under CI.
func needEngine(t *testing.T) {
	t.Helper()
	if os.Getenv("DOCKER_HOST") == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("the deploy tests need the container engine: ../shared/containers/up, then . /run/lattice-docker.env")
		}
		t.Skip("no container engine: ../shared/containers/up, then . /run/lattice-docker.env")
	}
}

// image builds the lattice image once for the package (IMAGE names it).
func image(t *testing.T) string {
	t.Helper()
	needEngine(t)
	buildOnce.Do(func() {
		cmd := exec.Command("../../scripts/build-image")
		cmd.Env = append(os.Environ(), "IMAGE=lattice:deploy-test")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			buildErr = err
			builtImage = stderr.String()
			return
		}
		builtImage = strings.TrimSpace(string(out))
	})
	require.NoError(t, buildErr, "build the image: %s", builtImage)
	return builtImage
}

// TestAServiceRunsInItsOwnContainer starts the auth service from the one
// image, as a non-root process in a container of its own, with PostgreSQL
// in another, found by name on their network. It becomes ready, serves
// its API on its public port and metrics only on its internal one, and
// takes a sign-up that it stores.
func TestAServiceRunsInItsOwnContainer(t *testing.T) {
	img := image(t)
	ctx := context.Background()
	nw, err := tcnetwork.New(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nw.Remove(context.Background()) })

	pg, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:          os.Getenv("LATTICE_TC_POSTGRES_IMAGE"),
			Env:            map[string]string{"POSTGRES_PASSWORD": "deploy-secret"},
			Networks:       []string{nw.Name},
			NetworkAliases: map[string][]string{nw.Name: {"postgres"}},
			WaitingFor: wait.ForLog("database system is ready to accept connections").WithOccurrence(2).
				WithStartupTimeout(60 * time.Second),
		},
		Started: true,
	})
	testcontainers.CleanupContainer(t, pg)
	require.NoError(t, err)

	auth, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: img,
			Cmd:   []string{"serve", "--target=auth"},
			Env: map[string]string{
				"AUTH_DATABASE_URL": "postgres://postgres:deploy-secret@postgres:5432/lattice_auth?sslmode=disable",
				"AUTH_ADDR":         "0.0.0.0:8081", "AUTH_ADMIN_ADDR": "0.0.0.0:9081",
				"LOG_LEVEL": "warn",
			},
			Networks:       []string{nw.Name},
			NetworkAliases: map[string][]string{nw.Name: {"auth"}},
			ExposedPorts:   []string{"8081/tcp", "9081/tcp"},
			WaitingFor:     wait.ForHTTP("/readyz").WithPort("8081/tcp").WithStartupTimeout(90 * time.Second),
		},
		Started: true,
	})
	testcontainers.CleanupContainer(t, auth)
	require.NoError(t, err)

	public, err := auth.PortEndpoint(ctx, "8081/tcp", "http")
	require.NoError(t, err)
	admin, err := auth.PortEndpoint(ctx, "9081/tcp", "http")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(public, "http://127.0.0.1:"), "published on loopback only: %s", public)

	resp, err := http.Post(public+"/v1/users", "application/json",
		strings.NewReader(`{"email":"ada@example.com","password":"a long enough password","display_name":"Ada"}`))
	require.NoError(t, err)
	var user struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&user))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, "ada@example.com", user.Email)

	// Stored in the PostgreSQL container: the same sign-up again conflicts.
	resp, err = http.Post(public+"/v1/users", "application/json",
		strings.NewReader(`{"email":"ada@example.com","password":"another long password","display_name":"Ada"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusConflict, resp.StatusCode)

	for url, want := range map[string]int{public + "/metrics": http.StatusNotFound, admin + "/metrics": http.StatusOK} {
		resp, err := http.Get(url)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, url)
	}

	// The process runs as the image's non-root user.
	inspect, err := auth.Inspect(ctx)
	require.NoError(t, err)
	require.Equal(t, "65532:65532", inspect.Config.User)
}
