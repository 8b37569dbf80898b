// Command gateway measures the gateway as a user would: from outside, with
// an external load generator (wrk), against the same upstream called
// directly and through nginx, in interleaved runs.
//
// It starts a fixed upstream (1 KiB of JSON), NATS (embedded, shared by the
// services), auth (`lattice serve --target=auth`, on a fresh PostgreSQL
// database) for a real client-credentials token, the gateway alone
// (`lattice serve --target=gateway`) with a route table whose budgets are
// charged but never refuse, and Debian's nginx as a plain reverse proxy
// (two workers, upstream keep-alive) when it is installed. Before any
// load, the gateway must answer 200 with the token and 401 with a forged
// one, so a gateway that stopped verifying cannot win. It prints each
// run, then the medians and the ratios.
//
//	go run ./bench/gateway                    # make bench-gateway
//	go run ./bench/gateway -fresh 0.05 -redis redis://127.0.0.1:6379/0
//
// -fresh sends that share of requests with a token the gateway has not
// seen (first-sight verification); -redis keeps the limits in Redis.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
)

func main() {
	rounds := flag.Int("rounds", 5, "interleaved rounds (direct, nginx, gateway each)")
	duration := flag.Duration("duration", 10*time.Second, "each run's length")
	conns := flag.Int("connections", 16, "wrk -c")
	threads := flag.Int("threads", 1, "wrk -t")
	pgURL := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/postgres", "a PostgreSQL server (its URL, any database) for auth's store")
	redisURL := flag.String("redis", "", "REDIS_URL for the gateway's limits (empty: in-process limits)")
	fresh := flag.Float64("fresh", 0, "share of requests (0-1) carrying a token the gateway has not seen")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the gateway during its first run to this file (go tool pprof)")
	flag.Parse()
	if *fresh < 0 || *fresh > 1 {
		log.Fatal("-fresh is a share between 0 and 1")
	}
	b := &bench{duration: *duration, conns: *conns, threads: *threads}
	if err := b.run(*rounds, *pgURL, *redisURL, *fresh, *profile); err != nil {
		log.Fatal(err)
	}
}

type bench struct {
	duration       time.Duration
	conns, threads int
	tmp            string
	procs          []*exec.Cmd
}

// result is one wrk run.
type result struct {
	rps      float64
	p50, p99 time.Duration
	cpu      string // where the machine's CPU went during the run
	fresh    int    // first-sight tokens sent
}

func (b *bench) run(rounds int, pgURL, redisURL string, fresh float64, profile string) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is not installed (apt-get install wrk)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var err error
	if b.tmp, err = os.MkdirTemp("", "bench-gateway-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.tmp)
	defer b.stop()

	bin := filepath.Join(b.tmp, "lattice")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/lattice").CombinedOutput(); err != nil {
		return fmt.Errorf("build lattice: %w\n%s", err, out)
	}
	upstream, err := startUpstream()
	if err != nil {
		return err
	}
	defer upstream.Close()
	bus, err := natsjs.StartEmbedded(filepath.Join(b.tmp, "nats"))
	if err != nil {
		return err
	}
	defer bus.Close()

	db, dropDB, err := freshDatabase(ctx, pgURL)
	if err != nil {
		return err
	}
	defer dropDB()

	gwAddr, authAddr := freeAddr(), freeAddr()
	issuer := "http://" + gwAddr
	common := []string{"NATS_URL=" + bus.URL(), "AUTH_ISSUER=" + issuer}
	authEnv := append(slices.Clone(common), "AUTH_ADDR="+authAddr, "AUTH_ADMIN_ADDR="+freeAddr(),
		"AUTH_DATABASE_URL="+db, "LATTICE_DATA_DIR="+filepath.Join(b.tmp, "auth"), "LOG_LEVEL=warn")
	if err := b.start(bin, "auth", authEnv); err != nil {
		return err
	}
	if err := waitReady(ctx, "http://"+authAddr+"/readyz"); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	clientID, secret, err := createClient(bin, authEnv)
	if err != nil {
		return err
	}
	token, err := mintToken("http://"+authAddr, clientID, secret)
	if err != nil {
		return err
	}

	routes := filepath.Join(b.tmp, "routes.yaml")
	if err := os.WriteFile(routes, []byte(routeTable), 0o600); err != nil {
		return err
	}
	gwAdmin := freeAddr()
	gwEnv := append(slices.Clone(common), "GATEWAY_ADDR="+gwAddr, "GATEWAY_ADMIN_ADDR="+gwAdmin,
		"GATEWAY_ROUTES_FILE="+routes, "AUTH_URL=http://"+authAddr, "RESOURCE_URL="+upstream.URL,
		"GATEWAY_MAX_INFLIGHT=4096", "LATTICE_DATA_DIR="+filepath.Join(b.tmp, "gateway"))
	if profile != "" {
		gwEnv = append(gwEnv, "ADMIN_PPROF=true")
	}
	if redisURL != "" {
		gwEnv = append(gwEnv, "REDIS_URL="+redisURL)
	}
	if err := b.start(bin, "gateway", gwEnv); err != nil {
		return err
	}
	gateway := "http://" + gwAddr
	if err := waitReady(ctx, gateway+"/readyz"); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if err := sanity(gateway+path, upstream.URL+path, token); err != nil {
		return fmt.Errorf("sanity check failed, no load run: %w", err)
	}
	fmt.Println("sanity: 200 with the token, 401 with a forged one, the upstream's body through the gateway")

	// Each round's gateway run gets tokens no earlier run has shown the
	// gateway, enough for 25,000 req/s; the run reports how many it used.
	perRound := 0
	var fresher []string
	if fresh > 0 {
		perRound = int(fresh*25000*b.duration.Seconds()) + 100
		fmt.Printf("minting %d fresh tokens for %.0f %% first-sight requests…\n", perRound*rounds, fresh*100)
		for range perRound * rounds {
			t, err := mintToken("http://"+authAddr, clientID, secret)
			if err != nil {
				return err
			}
			fresher = append(fresher, t)
		}
	}
	plain, err := b.script("plain", "", nil, 0)
	if err != nil {
		return err
	}
	targets := []struct{ name, url, script string }{{"direct", upstream.URL + path, plain}}
	if nginx, err := b.startNginx(ctx, upstream.Addr); err != nil {
		fmt.Println("nginx: not measured:", err)
	} else {
		targets = append(targets, struct{ name, url, script string }{"nginx", nginx + path, plain})
	}
	targets = append(targets, struct{ name, url, script string }{"gateway", gateway + path, ""})

	fmt.Printf("wrk -t%d -c%d -d%s --latency, %d interleaved rounds; limits %s; %.0f %% fresh tokens\n",
		b.threads, b.conns, b.duration, rounds, map[bool]string{true: "in Redis", false: "in process"}[redisURL != ""], fresh*100)
	results := map[string][]result{}
	for round := 1; round <= rounds; round++ {
		for _, tg := range targets {
			var profiled chan error
			if profile != "" && round == 1 && tg.name == "gateway" {
				profiled = make(chan error, 1)
				go func() { profiled <- cpuProfile("http://"+gwAdmin, b.duration-time.Second, profile) }()
			}
			script := tg.script
			if tg.name == "gateway" {
				var mine []string
				if fresh > 0 {
					mine = fresher[(round-1)*perRound : round*perRound]
				}
				if script, err = b.script(fmt.Sprintf("gateway-%d", round), token, mine, fresh); err != nil {
					return err
				}
			}
			before := readCPU()
			r, err := b.wrk(tg.url, script)
			r.cpu = before.spent(readCPU(), b.pids())
			if profiled != nil {
				if err := <-profiled; err != nil {
					return fmt.Errorf("profile: %w", err)
				}
				fmt.Println("CPU profile of the gateway's first run:", profile)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", tg.name, err)
			}
			results[tg.name] = append(results[tg.name], r)
			extra := ""
			if r.fresh > 0 {
				extra = fmt.Sprintf("; %d first-sight tokens (%.1f %%)", r.fresh, 100*float64(r.fresh)/(r.rps*b.duration.Seconds()))
			}
			fmt.Printf("round %d %-8s %9.0f req/s  P50 %-8s P99 %-8s cpu: %s%s\n", round, tg.name, r.rps, r.p50, r.p99, r.cpu, extra)
		}
	}
	fmt.Println()
	fmt.Printf("%-8s %12s %10s %10s\n", "median", "req/s", "P50", "P99")
	med := map[string]result{}
	for _, tg := range targets {
		m := median(results[tg.name])
		med[tg.name] = m
		fmt.Printf("%-8s %12.0f %10s %10s\n", tg.name, m.rps, m.p50, m.p99)
	}
	fmt.Printf("gateway/direct %.2f\n", med["gateway"].rps/med["direct"].rps)
	if n, ok := med["nginx"]; ok {
		fmt.Printf("gateway/nginx  %.2f  (P99 %s against nginx's %s)\n", med["gateway"].rps/n.rps, med["gateway"].p99, n.p99)
	}
	if err := sanity(gateway+path, upstream.URL+path, token); err != nil {
		return fmt.Errorf("sanity check after the runs failed: %w", err)
	}
	return nil
}

// cpuProfile takes a CPU profile of the process serving admin for d.
func cpuProfile(admin string, d time.Duration, file string) error {
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", admin, max(int(d.Seconds()), 1)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// path is the request every run makes.
const path = "/v1/resources/bench"

// routeTable charges both budgets on every request, at rates no run
// reaches.
const routeTable = `
classes:
  default:
    per_ip:       { rate: 1000000000, period: 1s, burst: 1000000000 }
    per_identity: { rate: 1000000000, period: 1s, burst: 1000000000 }
routes:
  - { prefix: /v1/resources, upstream: resource, auth: auth-required, class: default, timeout: 5s }
`

type upstreamServer struct {
	URL, Addr string
	srv       *http.Server
}

func (u *upstreamServer) Close() { _ = u.srv.Close() }

// startUpstream serves 1 KiB of JSON on every path.
func startUpstream() (*upstreamServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	body := []byte(`{"id":"bench","data":"` + strings.Repeat("x", 1000) + `"}`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &upstreamServer{URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), srv: srv}, nil
}

// freeAddr is a loopback address with a port nobody listens on now.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// freshDatabase creates an empty database for auth; drop removes it.
func freshDatabase(ctx context.Context, pgURL string) (dsn string, drop func(), err error) {
	admin, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL (-postgres): %w", err)
	}
	name := "bench_gateway_" + strconv.FormatUint(rand.Uint64()%1e9, 36)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		return "", nil, err
	}
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String(), func() {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(context.Background())
	}, nil
}

// start runs `lattice serve --target=name`, its output in the temporary
// directory (printed if it fails to become ready).
func (b *bench) start(bin, name string, env []string) error {
	logf, err := os.Create(filepath.Join(b.tmp, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", "--target="+name)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	b.procs = append(b.procs, cmd)
	return nil
}

// stop ends every process started, the latest first.
func (b *bench) stop() {
	for i := len(b.procs) - 1; i >= 0; i-- {
		p := b.procs[i]
		_ = p.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
}

func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready within 90 s", url)
}

// createClient registers a confidential client with the client-credentials
// grant, as an operator does.
func createClient(bin string, env []string) (id, secret string, err error) {
	cmd := exec.Command(bin, "client", "create", "--name", "bench", "--type", "confidential",
		"--grant", "client_credentials", "--scope", "resources:read")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("lattice client create: %w", err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "client_id="); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(line, "client_secret="); ok {
			secret = v
		}
	}
	if id == "" || secret == "" {
		return "", "", errors.New("lattice client create printed no client")
	}
	return id, secret, nil
}

func mintToken(auth, id, secret string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	resp, err := http.PostForm(auth+"/oauth2/token", form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token: %s", resp.Status)
	}
	m := regexp.MustCompile(`"access_token"\s*:\s*"([^"]+)"`).FindSubmatch(body)
	if m == nil {
		return "", errors.New("token: no access_token in the answer")
	}
	return string(m[1]), nil
}

// sanity: the token is accepted and the upstream's body comes back; a
// token with a changed signature is refused with 401.
func sanity(gateway, direct, token string) error {
	get := func(url, token string) (int, []byte, error) {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, body, err
	}
	_, want, err := get(direct, "")
	if err != nil {
		return err
	}
	status, body, err := get(gateway, token)
	if err != nil {
		return err
	}
	if status != http.StatusOK || string(body) != string(want) {
		return fmt.Errorf("with the token: %d, %d bytes (want 200 and the upstream's %d)", status, len(body), len(want))
	}
	sig := token[strings.LastIndexByte(token, '.')+1:]
	flipped := "A"
	if sig[0] == 'A' {
		flipped = "B"
	}
	forged := token[:strings.LastIndexByte(token, '.')+1] + flipped + sig[1:]
	if status, _, err = get(gateway, forged); err != nil {
		return err
	}
	if status != http.StatusUnauthorized {
		return fmt.Errorf("with a forged token: %d (want 401)", status)
	}
	if status, _, err = get(gateway, ""); err != nil {
		return err
	}
	if status != http.StatusUnauthorized {
		return fmt.Errorf("without a token: %d (want 401)", status)
	}
	return nil
}

// script writes the wrk Lua script for a target: the bearer token on
// every request, or, with fresh tokens, a new one on that share of them.
// The tokens stay in a 0600 file, off the command line.
func (b *bench) script(name, token string, fresh []string, share float64) (string, error) {
	var s strings.Builder
	if token != "" {
		fmt.Fprintf(&s, "local token = %q\n", "Bearer "+token)
		s.WriteString("local fresh = {")
		for i, t := range fresh {
			if i > 0 {
				s.WriteString(",")
			}
			fmt.Fprintf(&s, "%q", "Bearer "+t)
		}
		s.WriteString("}\n")
		every := 0
		if share > 0 {
			every = int(1/share + 0.5)
		}
		// nextFresh is global so that done() can read it from the thread.
		fmt.Fprintf(&s, `local every, n = %d, 0
nextFresh = 1
request = function()
  n = n + 1
  local auth = token
  if every > 0 and n %% every == 0 and nextFresh <= #fresh then
    auth = fresh[nextFresh]
    nextFresh = nextFresh + 1
  end
  return wrk.format("GET", nil, {["Authorization"] = auth})
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function()
  local used = 0
  for _, t in ipairs(threads) do used = used + t:get("nextFresh") - 1 end
  io.write(string.format("fresh tokens used: %%d\n", used))
end
`, every)
	}
	file := filepath.Join(b.tmp, name+".lua")
	return file, os.WriteFile(file, []byte(s.String()), 0o600)
}

var (
	rpsLine   = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	pctLine   = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
	freshLine = regexp.MustCompile(`fresh tokens used: (\d+)`)
	errLine   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)|Socket errors: .*`)
)

// wrk runs the load generator once against url and reads its summary.
// Every answer must be a success: a run with errors is refused.
func (b *bench) wrk(target, script string) (result, error) {
	args := []string{"-t", strconv.Itoa(b.threads), "-c", strconv.Itoa(b.conns), "-d", b.duration.String(), "--latency"}
	if script != "" {
		args = append(args, "-s", script)
	}
	out, err := exec.Command("wrk", append(args, target)...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	if m := errLine.Find(out); m != nil {
		return result{}, fmt.Errorf("wrk saw failures: %s", m)
	}
	var r result
	if m := freshLine.FindSubmatch(out); m != nil {
		r.fresh, _ = strconv.Atoi(string(m[1]))
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		return result{}, fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, p := range pctLine.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(p[2]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(p[3])]
		d := time.Duration(v * float64(unit)).Round(time.Microsecond)
		if string(p[1]) == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	return r, nil
}

func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return result{
		rps: pick(func(r result) float64 { return r.rps }),
		p50: time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99: time.Duration(pick(func(r result) float64 { return float64(r.p99) })),
	}
}

// startNginx runs Debian's nginx as a plain reverse proxy to upstream:
// two workers, upstream keep-alive, access log to a file (its default).
func (b *bench) startNginx(ctx context.Context, upstream string) (string, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return "", errors.New("not installed (apt-get install nginx)")
	}
	dir := filepath.Join(b.tmp, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	addr := freeAddr()
	conf := fmt.Sprintf(`daemon off;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log %[1]s/access.log;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  upstream backend { server %[2]s; keepalive 64; }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`, dir, upstream, addr)
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "-p", dir, "-c", file, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return "", err
	}
	b.procs = append(b.procs, cmd)
	url := "http://" + addr
	if err := waitReady(ctx, url+path); err != nil {
		return "", err
	}
	return url, nil
}

// cpuSample is the machine's and every process's CPU time so far, from
// /proc (Linux); empty elsewhere.
type cpuSample struct {
	at      time.Time
	idle    uint64 // machine idle ticks
	total   uint64 // machine ticks
	process map[int]uint64
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

func readCPU() cpuSample {
	s := cpuSample{at: time.Now(), process: map[int]uint64{}}
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(raw), "\n")
		for i, f := range strings.Fields(line)[1:] {
			v, _ := strconv.ParseUint(f, 10, 64)
			s.total += v
			if i == 3 || i == 4 { // idle, iowait
				s.idle += v
			}
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseUint(f[11], 10, 64)
		k, _ := strconv.ParseUint(f[12], 10, 64)
		s.process[pid] = u + k
	}
	return s
}

// pids names the processes of interest: this program (the upstream and
// NATS), the services, nginx's master; wrk and nginx's workers are found
// by name.
func (b *bench) pids() map[int]string {
	out := map[int]string{os.Getpid(): "harness"}
	for _, p := range b.procs {
		if p.Process != nil {
			out[p.Process.Pid] = filepath.Base(p.Path) + " " + strings.Join(p.Args[1:], " ")
		}
	}
	return out
}

// spent says, in cores, what the gateway, nginx, wrk and the harness used
// between s and later, and how idle the machine was.
func (s cpuSample) spent(later cpuSample, known map[int]string) string {
	secs := later.at.Sub(s.at).Seconds()
	if secs <= 0 || later.total == s.total {
		return "n/a"
	}
	use := map[string]float64{}
	for pid, t := range later.process {
		name := known[pid]
		if name == "" {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			name = strings.TrimSpace(string(comm))
		}
		switch {
		case strings.Contains(name, "--target=gateway"):
			name = "gateway"
		case strings.Contains(name, "--target=auth"):
			name = "auth"
		case strings.HasPrefix(name, "nginx"):
			name = "nginx"
		case strings.HasPrefix(name, "redis-server"):
			name = "redis"
		case name == "harness":
		default:
			continue
		}
		use[name] += float64(t-s.process[pid]) / clockTicks / secs
	}
	idle := float64(later.idle-s.idle) / float64(later.total-s.total)
	var parts []string
	for _, n := range []string{"gateway", "nginx", "harness", "redis", "auth"} {
		if v := use[n]; v >= 0.01 {
			parts = append(parts, fmt.Sprintf("%s %.2f", n, v))
		}
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" cores; machine %.0f %% idle", idle*100)
}
