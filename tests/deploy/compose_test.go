package deploy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/freeport"
)

// latticeServices are the Lattice containers of deploy/compose/compose.yaml
// with the port each serves on (the gateway's is published by the file
// itself; testdata/compose.test.yaml publishes the others).
var latticeServices = map[string]string{
	"auth-1": "8081", "auth-2": "8081", "resource-1": "8082", "resource-2": "8082", "search-1": "8083", "search-2": "8083",
	"processing-1": "8084", "processing-2": "8084", "analytics": "8085", "gateway-1": "8080", "gateway-2": "8080",
}

// deployment is the compose deployment the journey and the fault tests
// share: started once for the package, with mutual TLS and the NATS users
// on, and removed with its volumes when the package's tests end. A test
// that stops part of it brings it back before it ends.
type deployment struct {
	project string
	env     []string
	state   string
	// Gateway is the public door (gateway-1): https://127.0.0.1:<port>.
	Gateway string
	// Public trusts the deployment's CA and presents no certificate, as a
	// user's client does.
	Public *http.Client
	// Internal presents the operator's certificate, as a service would.
	Internal *http.Client

	// ports caches published addresses ("service/port"): asking the
	// compose CLI costs about a second. A container that is stopped or
	// restarted may get new ports, so do drops its services' entries.
	mu    sync.Mutex
	ports map[string]string
}

var (
	deployOnce sync.Once
	deployed   *deployment
	deployErr  error
)

// composeCommand is `docker compose` when the CLI has the plugin, else
// Debian's docker-compose (ADR 0018).
func composeCommand() []string {
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	return []string{"docker-compose"}
}

// deploy starts the deployment once for the package and waits until every
// service, and the gateway's view of each, is ready.
func deploy(t *testing.T) *deployment {
	t.Helper()
	img := image(t)
	deployOnce.Do(func() { deployed, deployErr = start(img) })
	require.NoError(t, deployErr)
	return deployed
}

func start(img string) (*deployment, error) {
	sweep()
	state, err := os.MkdirTemp("", "lattice-compose-")
	if err != nil {
		return nil, err
	}
	d := &deployment{project: fmt.Sprintf("lattice-deploy-%d", os.Getpid()), state: state}
	testinfra.AtExit(func(ctx context.Context) error {
		// Kept or not, the tests' connections go: the leak check follows.
		for _, c := range []*http.Client{d.Public, d.Internal} {
			if c != nil {
				c.CloseIdleConnections()
			}
		}
		if os.Getenv("LATTICE_DEPLOY_KEEP") == "" {
			_, err := d.compose(ctx, "down", "--volumes", "--remove-orphans", "--timeout", "5")
			_ = os.RemoveAll(state)
			return err
		}
		return nil
	})
	if out, err := exec.Command("../../scripts/compose-state", state).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("compose-state: %w: %s", err, out)
	}
	if err := writeRoutes(state); err != nil {
		return nil, err
	}
	// The gateways' host ports are chosen here, not by the engine: an
	// engine-chosen port changes when the container restarts, and the
	// tests' clients (like a load balancer) keep the gateways' addresses.
	gw1, err := freePort()
	if err != nil {
		return nil, err
	}
	gw2, err := freePort()
	if err != nil {
		return nil, err
	}
	d.env = append(os.Environ(), "LATTICE_STATE="+state, "LATTICE_IMAGE="+img,
		"LATTICE_GATEWAY_PORT="+gw1, "LATTICE_GATEWAY_2_PORT="+gw2,
		// Its own subnet, so that another project's network cannot clash.
		fmt.Sprintf("LATTICE_SUBNET=172.30.%d.0/24", 100+rand.IntN(150)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := d.compose(ctx, "up", "-d"); err != nil {
		return nil, err
	}
	if d.Public, d.Internal, err = d.clients(); err != nil {
		return nil, err
	}
	addr, err := d.port(ctx, "gateway-1", "8080")
	if err != nil {
		return nil, err
	}
	d.Gateway = "https://" + addr
	return d, d.waitReady(ctx)
}

// sweep removes the deployments of test processes that are gone (one that
// panicked never reached its AtExit), so that their containers do not
// take this run's memory and CPU.
func sweep() {
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label=com.docker.compose.project",
		"--format", `{{.Label "com.docker.compose.project"}}`).Output()
	if err != nil {
		return
	}
	for project := range strings.FieldsSeq(string(out)) {
		pid, ok := strings.CutPrefix(project, "lattice-deploy-")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(pid); err != nil || n == os.Getpid() || syscall.Kill(n, 0) == nil {
			continue // not ours, or its process still runs
		}
		label := "label=com.docker.compose.project=" + project
		if ids, _ := exec.Command("docker", "ps", "-aq", "--filter", label).Output(); len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, strings.Fields(string(ids))...)...).Run()
		}
		if vols, _ := exec.Command("docker", "volume", "ls", "-q", "--filter", label).Output(); len(vols) > 0 {
			_ = exec.Command("docker", append([]string{"volume", "rm"}, strings.Fields(string(vols))...)...).Run()
		}
		_ = exec.Command("docker", "network", "rm", project+"_lattice").Run()
	}
}

// freePort is a loopback port nothing listens on now.
func freePort() (string, error) {
	addr, err := freeport.Addr()
	if err != nil {
		return "", err
	}
	_, port, err := net.SplitHostPort(addr)
	return port, err
}

// writeRoutes writes the gateway's route table for the tests: the embedded
// one with the default class's budgets raised for the tests' load, which
// comes from one address.
func writeRoutes(state string) error {
	table, err := os.ReadFile("../../services/gateway/routing/routes.yaml")
	if err != nil {
		return err
	}
	raised := strings.NewReplacer(
		"per_ip:       { rate: 600, period: 1m, burst: 120 }", "per_ip:       { rate: 600000, period: 1m, burst: 20000 }",
		"per_identity: { rate: 1200, period: 1m, burst: 240 }", "per_identity: { rate: 600000, period: 1m, burst: 20000 }",
	).Replace(string(table))
	if raised == string(table) {
		return errors.New("the default class's budgets were not found in routes.yaml")
	}
	return os.WriteFile(filepath.Join(state, "routes.yaml"), []byte(raised), 0o644) //nolint:gosec // read by the gateway's non-root user
}

// compose runs the compose CLI on the deployment's files and project.
func (d *deployment) compose(ctx context.Context, args ...string) (string, error) {
	argv := append(composeCommand(), "-p", d.project, "-f", "../../deploy/compose/compose.yaml", "-f", "testdata/compose.test.yaml")
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], args...)...)
	cmd.Env = d.env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", strings.Join(argv, " "), strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// port is where service's containerPort is published on 127.0.0.1.
func (d *deployment) port(ctx context.Context, service, containerPort string) (string, error) {
	key := service + "/" + containerPort
	d.mu.Lock()
	addr, ok := d.ports[key]
	d.mu.Unlock()
	if ok {
		return addr, nil
	}
	out, err := d.compose(ctx, "port", service, containerPort)
	if err != nil {
		return "", err
	}
	addr = strings.TrimSpace(out)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		return "", fmt.Errorf("%s:%s is published at %q, not on loopback", service, containerPort, addr)
	}
	d.mu.Lock()
	if d.ports == nil {
		d.ports = map[string]string{}
	}
	d.ports[key] = addr
	d.mu.Unlock()
	return addr, nil
}

// forget drops the cached ports of services.
func (d *deployment) forget(services ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for key := range d.ports {
		for _, svc := range services {
			if strings.HasPrefix(key, svc+"/") {
				delete(d.ports, key)
			}
		}
	}
}

// url is the base URL of one Lattice container's service port.
func (d *deployment) url(t *testing.T, service string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr, err := d.port(ctx, service, latticeServices[service])
	require.NoError(t, err)
	return "https://" + addr
}

func (d *deployment) clients() (public, internal *http.Client, err error) {
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(filepath.Join(d.state, "certs", "ca.crt"))
	if err != nil {
		return nil, nil, err
	}
	pool.AppendCertsFromPEM(ca)
	operator, err := tls.LoadX509KeyPair(filepath.Join(d.state, "certs", "operator.crt"), filepath.Join(d.state, "keys", "operator.key"))
	if err != nil {
		return nil, nil, err
	}
	client := func(certs []tls.Certificate) *http.Client {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// The services' certificates name them as the network knows them;
		// from the host they are reached at 127.0.0.1, which each also names.
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, Certificates: certs}
		return &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	return client(nil), client([]tls.Certificate{operator}), nil
}

// waitReady polls every Lattice container's /readyz, then the gateway's,
// until all answer 200. A container may restart while the deployment
// starts (a service exits when JetStream is not up yet, and compose starts
// it again), and a restarted container is published on a new host port:
// so a port that is not published, or stops answering, is looked up again.
func (d *deployment) waitReady(ctx context.Context) error {
	for svc, port := range latticeServices {
		client := d.Internal
		if strings.HasPrefix(svc, "gateway") {
			client = d.Public
		}
		var last error
		for {
			addr, err := d.port(ctx, svc, port)
			if err == nil {
				try, cancel := context.WithTimeout(ctx, 10*time.Second)
				err = readyWithin(try, client, "https://"+addr+"/readyz")
				cancel()
				if err == nil {
					break
				}
			}
			last = err
			d.forget(svc)
			select {
			case <-ctx.Done():
				logs, _ := d.compose(context.Background(), "logs", "--tail", "30", svc)
				return fmt.Errorf("%s: %w\n%s", svc, last, logs)
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

func readyWithin(ctx context.Context, client *http.Client, url string) error {
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %s", url, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ready waits until every container is ready again (after a fault).
func (d *deployment) ready(t *testing.T, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	require.NoError(t, d.waitReady(ctx))
}

// operatorBus connects to the cluster as the unrestricted operator user.
func (d *deployment) operatorBus(t *testing.T) jetstream.JetStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var urls []string
	for _, n := range []string{"nats-1", "nats-2", "nats-3"} {
		addr, err := d.port(ctx, n, "4222")
		require.NoError(t, err)
		urls = append(urls, "tls://"+addr)
	}
	tr := d.Internal.Transport.(*http.Transport)
	nc, js, err := natsjs.Connect(strings.Join(urls, ","), "operator", nats.Secure(tr.TLSClientConfig.Clone()))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return js
}
