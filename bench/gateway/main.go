// Command gateway measures the gateway as a user would: from outside, with
// an external load generator (wrk), against the same upstream called
// directly and through nginx, in interleaved runs.
//
// It starts a fixed upstream (1 KiB of JSON, a process of its own), NATS
// (embedded in this program, shared by the services), auth (`lattice
// serve --target=auth`, on a fresh PostgreSQL database) for a real
// client-credentials token, the gateway alone
// (`lattice serve --target=gateway`) with a route table whose budgets are
// charged but never refuse, and Debian's nginx as a plain reverse proxy
// (two workers, upstream keep-alive) when it is installed. Before any
// load, the gateway must answer 200 with the token and 401 with a forged
// one, so a gateway that stopped verifying cannot win. It prints each
// run, then the medians, and each ratio as the median of the ratios within
// a round (the machine's speed drifts between rounds).
//
// Floors put the gateway's figures in proportion: bare proxies that do
// nothing but forward, run as processes of their own (this program,
// started again), measured in the same rounds. go-proxy is
// httputil.ReverseProxy on net/http, so gateway/go-proxy is what the
// gateway's own work costs; fasthttp is the same on valyala/fasthttp,
// the ceiling of a Go proxy on another HTTP engine (-floors).
//
//	go run ./bench/gateway                    # make bench-gateway
//	go run ./bench/gateway -fresh 0.05 -redis redis://127.0.0.1:6379/0
//
// -fresh sends that share of requests with a token the gateway has not
// seen (first-sight verification); -redis keeps the limits in Redis.
// -rate N replaces wrk's closed loop with an open one: N requests a
// second on schedule, for tails compared at one load (openloop.go).
// -baseline BIN and -variant NAME:KEY=VALUE add gateways from another
// build, or with more environment, to the same rounds, so a change is
// judged against what it replaces under the same load and drift.
// -callgrind N counts instead of timing: each of those gateways, and each
// of -floors, runs under valgrind's callgrind and the program prints the
// instructions it ran per request over N sequential requests, a figure
// the machine's drift hardly moves (instructions.go); -callgrind-keep DIR
// keeps the dumps for callgrind_annotate. -perf FILE records the gateway's
// first run with Linux perf, the kernel's part included, for perf report.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/lattice-platform/lattice/bench/internal/launch"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	redisadapter "github.com/lattice-platform/lattice/pkg/adapters/redis"
	"github.com/lattice-platform/lattice/pkg/target"
	"github.com/lattice-platform/lattice/pkg/testinfra/freeport"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

// proxyEnv makes this program a bare reverse proxy instead (see
// serveProxy); the harness starts itself so to measure the floor of a Go
// proxy on net/http and on fasthttp.
const proxyEnv = "BENCH_GATEWAY_PROXY"

func main() {
	if spec := os.Getenv(proxyEnv); spec != "" {
		log.Fatal(serveProxy(spec))
	}
	if addr := os.Getenv(upstreamEnv); addr != "" {
		log.Fatal(serveUpstream(addr))
	}
	if spec := os.Getenv(attackEnv); spec != "" {
		if err := runAttack(spec, os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	}
	rounds := flag.Int("rounds", 5, "interleaved rounds (direct, nginx, gateway each)")
	duration := flag.Duration("duration", 10*time.Second, "each run's length")
	conns := flag.Int("connections", 16, "wrk -c")
	threads := flag.Int("threads", 1, "wrk -t")
	think := flag.Duration("think", 0, "each connection waits this long (whole milliseconds, wrk's delay()) after an answer before its next request: a load below the machine's capacity, where the proxies' CPU per request is compared at nearly the same rate")
	rate := flag.Int("rate", 0, "instead of wrk's closed loop: offer every target this many requests a second, open loop (vegeta's attacker, in a process of its own), so that tails are compared at one load below every target's capacity")
	pgURL := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/postgres", "a PostgreSQL server (its URL, any database) for auth's store")
	redisURL := flag.String("redis", "", "REDIS_URL for the gateway's limits (empty: in-process limits)")
	fresh := flag.Float64("fresh", 0, "share of requests (0-1) carrying a token the gateway has not seen")
	floors := flag.String("floors", "go-proxy,fasthttp", "bare proxies to measure as floors, comma-separated: "+strings.Join(floorNames, ", ")+" (empty: none)")
	netHTTP := flag.Bool("net-http", false, "also measure a gateway on net/http alone, server and upstream client (GATEWAY_SERVER=net/http, GATEWAY_UPSTREAM_CLIENT=net/http), in the same rounds, as gw-nethttp")
	netHTTPServer := flag.Bool("net-http-server", false, "also measure a gateway whose server is net/http's alone (GATEWAY_SERVER=net/http) in the same rounds, as gw-nhserver")
	baseline := flag.String("baseline", "", "also measure a gateway run from this lattice binary (another build, say) in the same rounds, as gw-base")
	var variants []variant
	flag.Func("variant", "also measure a gateway with more environment in the same rounds: NAME:KEY=VALUE[,KEY=VALUE…] (repeatable)", func(s string) error {
		v, err := parseVariant(s)
		variants = append(variants, v)
		return err
	})
	profile := flag.String("cpuprofile", "", "write a CPU profile of the gateway during its first run to this file (go tool pprof)")
	traceDir := flag.String("trace", "", "write a runtime trace of each gateway run's first seconds to this directory as round-N.trace, begun just before the load starts (go tool trace); the trace's start stops the world once, so read these runs' figures with that in mind")
	perfFile := flag.String("perf", "", "record the gateway's first run with Linux perf (call graphs, kernel included) into this file, for: perf report -i FILE --children --sort sym")
	callgrind := flag.Int("callgrind", 0, "instead of the wrk rounds: count the instructions each gateway (this build, -baseline's, each -variant) and each of -floors runs per request under valgrind's callgrind, over this many requests after a warm-up")
	callgrindKeep := flag.String("callgrind-keep", "", "with -callgrind: copy each build's dump into this directory as NAME.callgrind, for callgrind_annotate")
	flag.Parse()
	if *fresh < 0 || *fresh > 1 {
		log.Fatal("-fresh is a share between 0 and 1")
	}
	if *netHTTP {
		variants = append(variants, variant{name: "gw-nethttp", env: []string{"GATEWAY_UPSTREAM_CLIENT=net/http", "GATEWAY_SERVER=net/http"},
			doc: "fasthttp's front and client against net/http alone"})
	}
	if *netHTTPServer {
		variants = append(variants, variant{name: "gw-nhserver", env: []string{"GATEWAY_SERVER=net/http"},
			doc: "the fast front against net/http's server"})
	}
	if *baseline != "" {
		variants = append(variants, variant{name: "gw-base", bin: *baseline, doc: "this build against " + *baseline})
	}
	taken := append([]string{"direct", "nginx", "gateway"}, floorNames...)
	for _, v := range variants {
		if slices.Contains(taken, v.name) {
			log.Fatalf("-variant: the name %q is taken (by a target, or an earlier -variant, -net-http or -baseline)", v.name)
		}
		taken = append(taken, v.name)
	}
	if err := checkThink(*think); err != nil {
		log.Fatal(err)
	}
	if err := checkRate(*rate, *think, *fresh); err != nil {
		log.Fatal(err)
	}
	b := &bench{duration: *duration, conns: *conns, threads: *threads, think: *think, rate: *rate, variants: variants}
	if *floors != "" {
		b.floors = strings.Split(*floors, ",")
	}
	for _, f := range b.floors {
		if !slices.Contains(floorNames, f) {
			log.Fatalf("-floors: unknown proxy %q", f)
		}
	}
	if *callgrind < 0 {
		log.Fatal("-callgrind is a number of requests")
	}
	if *callgrindKeep != "" && *callgrind == 0 {
		log.Fatal("-callgrind-keep needs -callgrind")
	}
	b.callgrind, b.callgrindKeep, b.perfFile, b.traceDir = *callgrind, *callgrindKeep, *perfFile, *traceDir
	if *traceDir != "" {
		if err := os.MkdirAll(*traceDir, 0o755); err != nil {
			log.Fatalf("-trace: %v", err)
		}
	}
	// An interrupt ends the run between steps, and the lab (processes,
	// database, scratch directory) is taken down as after a full run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := b.run(ctx, *rounds, *pgURL, *redisURL, *fresh, *profile); err != nil {
		if ctx.Err() != nil {
			log.Fatal("interrupted: the lab is taken down")
		}
		log.Fatal(err)
	}
}

// checkThink refuses a think time that wrk's delay(), which counts whole
// milliseconds, cannot express.
func checkThink(d time.Duration) error {
	if d < 0 || d%time.Millisecond != 0 {
		return errors.New("-think is a whole number of milliseconds (wrk's delay() counts in them)")
	}
	return nil
}

type bench struct {
	duration       time.Duration
	conns, threads int
	think          time.Duration // each connection's wait between an answer and its next request
	rate           int           // > 0: an open-loop load of this many requests a second instead of wrk (openloop.go)
	lab            *launch.Lab
	floors         []string // bare proxies measured too (serveProxy)
	authURL        string   // for the fast-gw floor's token checks
	issuer         string
	variants       []variant // further gateways measured in the same rounds
	callgrind      int       // > 0: count instructions over this many requests instead (instructions.go)
	callgrindKeep  string    // where the dumps are copied to, if anywhere
	perfFile       string    // where perf records the gateway's first run, if anywhere
	traceDir       string    // where each gateway run's first seconds are traced, if anywhere
	upstreamURL    string
}

// A traced run's trace begins traceLead before the load and lasts
// traceLength: the start after an idle spell, where the open loop's worst
// second mostly is (docs/benchmarks.md, session 38).
const (
	traceLead   = 100 * time.Millisecond
	traceLength = 2 * time.Second
)

// variant is a further gateway, measured beside the main one so that a
// change is judged in the same interleaved rounds: another binary, or the
// same one with more environment.
type variant struct {
	name string
	bin  string   // empty: the lab's binary
	env  []string // added to the main gateway's
	doc  string   // what gateway/name compares
	url  string
}

// parseVariant reads -variant's NAME:KEY=VALUE[,KEY=VALUE…].
func parseVariant(s string) (variant, error) {
	name, kvs, ok := strings.Cut(s, ":")
	if !ok || name == "" || kvs == "" {
		return variant{}, errors.New("want NAME:KEY=VALUE[,KEY=VALUE…]")
	}
	v := variant{name: name, doc: "the gateway against itself with " + kvs}
	for kv := range strings.SplitSeq(kvs, ",") {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return variant{}, fmt.Errorf("%q is not KEY=VALUE", kv)
		}
		v.env = append(v.env, kv)
	}
	return v, nil
}

// result is one wrk run, or one open-loop run.
type result struct {
	rps      float64
	p50, p99 time.Duration
	// From an open-loop run only: the P99.9, the slowest answer, and the
	// worst P99 of one second's requests (the worstSecond, from 1).
	p999, max      time.Duration
	worstSecondP99 time.Duration
	worstSecond    int
	settledP99     time.Duration // the P99 after the run's first second
	cpu            string        // where the machine's CPU went during the run
	// cpuPerReq is the proxy's own CPU time per request (nginx's, the
	// gateway's, a floor's); 0 for direct. The machine's cores are shared
	// by the load generator, the upstream and the proxy, so a change in the
	// proxy's own cost shows here more plainly than in its req/s.
	cpuPerReq time.Duration
	// kernelPerReq is the part of cpuPerReq spent in the kernel: system
	// calls and the loopback network stack, which every proxy pays for the
	// same traffic; the rest is the proxy's own code and runtime.
	kernelPerReq time.Duration
	fresh        int     // first-sight tokens sent
	wrkCores     float64 // the load generator's CPU (cores): wrk's, or vegeta's with -rate
	// With -redis, for a gateway: Redis's CPU per request (its process,
	// network included) and the requests a script run charged.
	redisPerReq time.Duration
	reqsPerRun  float64
}

func (b *bench) run(ctx context.Context, rounds int, pgURL, redisURL string, fresh float64, profile string) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is not installed (apt-get install wrk)")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var err error
	if b.lab, err = launch.New("bench-gateway-"); err != nil {
		return err
	}
	defer b.lab.Close()
	upstream, err := b.startUpstream(ctx)
	if err != nil {
		return err
	}
	b.upstreamURL = upstream.URL
	bus, err := natsjs.StartEmbedded(filepath.Join(b.lab.Dir, "nats"))
	if err != nil {
		return err
	}
	defer bus.Close()

	db, err := b.lab.Postgres(ctx, pgURL, "bench_gateway")
	if err != nil {
		return err
	}
	gwAddr, authAddr, authAdmin, gwAdmin := freeAddr(), freeAddr(), freeAddr(), freeAddr()
	issuer := "http://" + gwAddr
	common := []string{"NATS_URL=" + bus.URL(), "AUTH_ISSUER=" + issuer}
	authEnv := append(slices.Clone(common), "AUTH_ADDR="+authAddr, "AUTH_ADMIN_ADDR="+authAdmin,
		"AUTH_DATABASE_URL="+db, "LATTICE_DATA_DIR="+filepath.Join(b.lab.Dir, "auth"), "LOG_LEVEL=warn")
	if _, err := b.lab.Serve("auth", authEnv); err != nil {
		return err
	}
	if err := launch.WaitReady(ctx, "http://"+authAddr+"/readyz"); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	b.authURL, b.issuer = "http://"+authAddr, issuer
	clientID, secret, err := b.lab.CreateClient(authEnv, "resources:read")
	if err != nil {
		return err
	}
	token, err := launch.MintToken("http://"+authAddr, clientID, secret)
	if err != nil {
		return err
	}

	routes := filepath.Join(b.lab.Dir, "routes.yaml")
	if err := os.WriteFile(routes, []byte(routeTable), 0o600); err != nil {
		return err
	}
	gwEnv := append(slices.Clone(common), "GATEWAY_ADDR="+gwAddr, "GATEWAY_ADMIN_ADDR="+gwAdmin,
		"GATEWAY_ROUTES_FILE="+routes, "AUTH_URL=http://"+authAddr, "RESOURCE_URL="+upstream.URL,
		"GATEWAY_MAX_INFLIGHT=4096", "LATTICE_DATA_DIR="+filepath.Join(b.lab.Dir, "gateway"))
	// The gateway starts as its deployments start it: with its target's
	// runtime settings (ADR 0050), after any of this shell's own.
	godebug, _ := target.WithGODEBUG(os.Getenv("GODEBUG"), gatewaysvc.Target.GODEBUG)
	gwEnv = append(gwEnv, "GODEBUG="+godebug)
	if profile != "" || b.traceDir != "" {
		gwEnv = append(gwEnv, "ADMIN_PPROF=true")
	}
	var rdb *goredis.Client
	if redisURL != "" {
		gwEnv = append(gwEnv, "REDIS_URL="+redisURL)
		opts, err := goredis.ParseURL(redisURL)
		if err != nil {
			return fmt.Errorf("-redis: %w", err)
		}
		rdb = goredis.NewClient(opts)
		defer rdb.Close()
	}
	gwCmd, err := b.lab.Serve("gateway", gwEnv)
	if err != nil {
		return err
	}
	gateway := "http://" + gwAddr
	if err := launch.WaitReady(ctx, gateway+"/readyz"); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	gateways := []string{gateway}
	for i := range b.variants {
		v := &b.variants[i]
		addr, admin := freeAddr(), freeAddr()
		env := append(slices.Clone(gwEnv), "GATEWAY_ADDR="+addr, "GATEWAY_ADMIN_ADDR="+admin,
			"LATTICE_DATA_DIR="+filepath.Join(b.lab.Dir, v.name))
		if _, err := b.lab.ServeBin(v.name, v.bin, "gateway", append(env, v.env...)); err != nil {
			return err
		}
		if err := launch.WaitReady(ctx, "http://"+addr+"/readyz"); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		v.url = "http://" + addr
		gateways = append(gateways, v.url)
	}
	for _, gw := range gateways {
		if err := sanity(gw+path, upstream.URL+path, token); err != nil {
			return fmt.Errorf("sanity check failed, no load run: %w", err)
		}
	}
	fmt.Println("sanity: 200 with the token, 401 with a forged one, the upstream's body through the gateway")
	if b.callgrind > 0 {
		builds := []build{{name: "gateway", bin: b.lab.Bin}}
		for _, v := range b.variants {
			bin := v.bin
			if bin == "" {
				bin = b.lab.Bin
			}
			builds = append(builds, build{name: v.name, bin: bin, env: v.env})
		}
		for _, kind := range b.floors {
			builds = append(builds, build{name: kind, floor: kind})
		}
		return b.countInstructions(ctx, builds, gwEnv, path, token, b.callgrind)
	}

	// Each round's gateway run gets tokens no earlier run has shown the
	// gateway, enough for 25,000 req/s; the run reports how many it used.
	perRound := 0
	var fresher []string
	if fresh > 0 {
		perRound = int(fresh*25000*b.duration.Seconds()) + 100
		fmt.Printf("minting %d fresh tokens for %.0f %% first-sight requests…\n", perRound*rounds, fresh*100)
		for range perRound * rounds {
			t, err := launch.MintToken("http://"+authAddr, clientID, secret)
			if err != nil {
				return err
			}
			fresher = append(fresher, t)
		}
	}
	type target struct{ name, url string }
	targets := []target{{"direct", upstream.URL + path}}
	if nginx, err := b.startNginx(ctx, upstream.Addr); err != nil {
		fmt.Println("nginx: not measured:", err)
	} else {
		targets = append(targets, target{"nginx", nginx + path})
	}
	for _, kind := range b.floors {
		proxy, err := b.startProxy(ctx, kind, upstream.URL)
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		if kind == "fast-gw" {
			// It checks tokens: held to the gateway's sanity checks.
			if err := sanity(proxy+path, upstream.URL+path, token); err != nil {
				return fmt.Errorf("fast-gw: sanity check failed, no load run: %w", err)
			}
			gateways = append(gateways, proxy)
		}
		targets = append(targets, target{kind, proxy + path})
	}
	targets = append(targets, target{"gateway", gateway + path})
	for _, v := range b.variants {
		targets = append(targets, target{v.name, v.url + path})
	}

	paced := ""
	if b.think > 0 {
		paced = fmt.Sprintf(", %s between an answer and the next request on each connection", b.think)
	}
	limits := map[bool]string{true: "in Redis", false: "in process"}[redisURL != ""]
	tokenFile := ""
	if b.rate > 0 {
		tokenFile = filepath.Join(b.lab.Dir, "token")
		if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
			return err
		}
		fmt.Printf("vegeta, %d req/s open loop for %s, %d interleaved rounds, each starting one target later; limits %s\n",
			b.rate, b.duration, rounds, limits)
	} else {
		fmt.Printf("wrk -t%d -c%d -d%s --latency%s, %d interleaved rounds, each starting one target later; limits %s; %.0f %% fresh tokens\n",
			b.threads, b.conns, b.duration, paced, rounds, limits, fresh*100)
	}
	results := map[string][]result{}
	for round := 1; round <= rounds; round++ {
		// Each round starts one target later than the last: a run
		// measured right after another inherits its warm or tired
		// machine, and in a fixed order one target would always follow
		// the same neighbour (seen here: a few per cent between two
		// copies of one build).
		order := append(slices.Clone(targets[(round-1)%len(targets):]), targets[:(round-1)%len(targets)]...)
		// Every target of a round gets the same requests from the same
		// script: the token (and the round's fresh tokens) go to direct
		// and nginx too, which ignore them, so that the load generator
		// spends as much on each target's requests (until session 17 only
		// the gateways' went through a Lua function per request).
		var mine []string
		if fresh > 0 {
			mine = fresher[(round-1)*perRound : round*perRound]
		}
		script := ""
		if b.rate == 0 {
			if script, err = b.script(fmt.Sprintf("round-%d", round), token, mine, fresh); err != nil {
				return err
			}
		}
		for _, tg := range order {
			var profiled chan error
			if profile != "" && round == 1 && tg.name == "gateway" {
				profiled = make(chan error, 1)
				go func() { profiled <- launch.CPUProfile("http://"+gwAdmin, b.duration-time.Second, profile) }()
			}
			var traced chan error
			traceFile := filepath.Join(b.traceDir, fmt.Sprintf("round-%d.trace", round))
			if b.traceDir != "" && tg.name == "gateway" {
				traced = make(chan error, 1)
				go func() { traced <- launch.Trace("http://"+gwAdmin, traceLength, traceFile) }()
				// The endpoint answers only when the trace ends, so
				// nothing says it has begun: the load waits a moment.
				time.Sleep(traceLead)
			}
			var recorded chan error
			if b.perfFile != "" && round == 1 && tg.name == "gateway" {
				recorded = make(chan error, 1)
				perf := exec.CommandContext(ctx, "perf", perfRecord(gwCmd.Process.Pid, b.duration-time.Second, b.perfFile)...)
				go func() {
					if out, err := perf.CombinedOutput(); err != nil {
						recorded <- fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
						return
					}
					recorded <- nil
				}()
			}
			charged := rdb != nil && proxyGroup(tg.name) == "gateway"
			var redisBefore redisadapter.ServerCounters
			if charged {
				if redisBefore, err = redisadapter.ReadServerCounters(ctx, rdb); err != nil {
					return err
				}
			}
			before := launch.ReadCPU()
			var r result
			if b.rate > 0 {
				r, err = b.attack(ctx, tg.name, tg.url, tokenFile)
			} else {
				r, err = b.wrk(ctx, tg.url, script)
			}
			var cores, kernel map[string]float64
			r.cpu, cores, kernel = spent(before, launch.ReadCPU(), b.pids())
			r.cpu = fmt.Sprintf("%s %.2f, %s", map[bool]string{true: "vegeta", false: "wrk"}[b.rate > 0], r.wrkCores, r.cpu)
			if c := cores[proxyGroup(tg.name)]; c > 0 && r.rps > 0 {
				r.cpuPerReq = time.Duration(c / r.rps * float64(time.Second))
				r.kernelPerReq = time.Duration(kernel[proxyGroup(tg.name)] / r.rps * float64(time.Second))
			}
			if profiled != nil {
				if err := <-profiled; err != nil {
					return fmt.Errorf("profile: %w", err)
				}
				fmt.Println("CPU profile of the gateway's first run:", profile)
			}
			if traced != nil {
				if err := <-traced; err != nil {
					return fmt.Errorf("trace: %w", err)
				}
				fmt.Println("runtime trace of the gateway's first seconds:", traceFile)
			}
			if recorded != nil {
				if err := <-recorded; err != nil {
					return fmt.Errorf("perf: %w", err)
				}
				fmt.Printf("perf record of the gateway's first run: perf report -i %s --children --sort sym\n", b.perfFile)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", tg.name, err)
			}
			extra := ""
			if charged {
				if extra, err = redisSpent(ctx, rdb, redisBefore, &r, b.duration); err != nil {
					return fmt.Errorf("%s: %w", tg.name, err)
				}
			}
			results[tg.name] = append(results[tg.name], r)
			if r.fresh > 0 && proxyGroup(tg.name) == "gateway" {
				extra += fmt.Sprintf("; %d first-sight tokens (%.1f %%)", r.fresh, 100*float64(r.fresh)/(r.rps*b.duration.Seconds()))
			}
			own := ""
			if r.cpuPerReq > 0 {
				own = fmt.Sprintf("  %5.1fµs CPU/req (%2.0f %% kernel)", float64(r.cpuPerReq)/float64(time.Microsecond), 100*float64(r.kernelPerReq)/float64(r.cpuPerReq))
			}
			tail := ""
			if b.rate > 0 {
				tail = fmt.Sprintf(" P99.9 %-8s max %-8s after the first second P99 %-8s worst second's P99 %s (second %d)",
					r.p999, r.max, r.settledP99, r.worstSecondP99, r.worstSecond)
			}
			fmt.Printf("round %d %-8s %9.0f req/s  P50 %-8s P99 %-8s%s%s  cpu: %s%s\n", round, tg.name, r.rps, r.p50, r.p99, tail, own, r.cpu, extra)
		}
	}
	fmt.Println()
	fmt.Printf("%-8s %12s %10s %10s", "median", "req/s", "P50", "P99")
	if b.rate > 0 {
		fmt.Printf(" %10s %10s %12s %13s", "P99.9", "max", "P99 after 1s", "worst second")
	}
	fmt.Println()
	med := map[string]result{}
	for _, tg := range targets {
		m := median(results[tg.name])
		med[tg.name] = m
		fmt.Printf("%-8s %12.0f %10s %10s", tg.name, m.rps, m.p50, m.p99)
		if b.rate > 0 {
			fmt.Printf(" %10s %10s %12s %13s  %s", m.p999, m.max, m.settledP99, m.worstSecondP99, firstWorst(results[tg.name]))
		}
		fmt.Println()
	}
	// Ratios are taken within each round, then their median: the machine's
	// speed drifts between rounds (by a third within minutes, seen here),
	// and a ratio of two medians from different rounds would carry that.
	ratioOf := func(a, b string, of func(result) float64) string {
		var rs []float64
		for i := range results[a] {
			rs = append(rs, of(results[a][i])/of(results[b][i]))
		}
		slices.Sort(rs)
		mid := (rs[(len(rs)-1)/2] + rs[len(rs)/2]) / 2
		return fmt.Sprintf("%.2f (rounds %.2f–%.2f)", mid, rs[0], rs[len(rs)-1])
	}
	ratio := func(a, b string) string { return ratioOf(a, b, func(r result) float64 { return r.rps }) }
	cpuRatio := func(a, b string) string {
		return ratioOf(a, b, func(r result) float64 { return float64(r.cpuPerReq) })
	}
	if b.rate > 0 {
		// Every target served the rate asked for (a run that did not is
		// refused), so the ratios worth printing are the tails'.
		ratio = func(a, b string) string { return ratioOf(a, b, func(r result) float64 { return float64(r.p99) }) }
		fmt.Println("ratios of P99 at one load (lower is better): the median of each round's ratio")
	} else {
		fmt.Println("ratios of req/s: the median of each round's ratio")
	}
	fmt.Printf("gateway/direct %s\n", ratio("gateway", "direct"))
	if n, ok := med["nginx"]; ok {
		fmt.Printf("gateway/nginx  %s  (P99 %s against nginx's %s)\n", ratio("gateway", "nginx"), med["gateway"].p99, n.p99)
		for _, f := range b.floors {
			fmt.Printf("%-14s %s  (a floor: %s)\n", f+"/nginx", ratio(f, "nginx"), floorDoc[f])
		}
	}
	if slices.Contains(b.floors, "go-proxy") {
		fmt.Printf("gateway/go-proxy %s\n", ratio("gateway", "go-proxy"))
	}
	for _, v := range b.variants {
		fmt.Printf("gateway/%s %s  (%s)\n", v.name, ratio("gateway", v.name), v.doc)
	}
	fmt.Println("ratios of the proxy's own CPU per request, the same way (lower is cheaper)")
	if _, ok := med["nginx"]; ok {
		fmt.Printf("gateway/nginx  %s  (%s against %s)\n", cpuRatio("gateway", "nginx"), med["gateway"].cpuPerReq.Round(100*time.Nanosecond), med["nginx"].cpuPerReq.Round(100*time.Nanosecond))
		for _, f := range b.floors {
			fmt.Printf("%-14s %s  (%s)\n", f+"/nginx", cpuRatio(f, "nginx"), med[f].cpuPerReq.Round(100*time.Nanosecond))
		}
	}
	for _, v := range b.variants {
		fmt.Printf("gateway/%s %s  (%s against %s)\n", v.name, cpuRatio("gateway", v.name), med["gateway"].cpuPerReq.Round(100*time.Nanosecond), med[v.name].cpuPerReq.Round(100*time.Nanosecond))
	}
	if rdb != nil {
		fmt.Printf("Redis's CPU per request (median): gateway %s, %.1f requests a script run\n",
			med["gateway"].redisPerReq.Round(100*time.Nanosecond), med["gateway"].reqsPerRun)
		for _, v := range b.variants {
			fmt.Printf("  gateway/%s %s  (%s against %s; %.1f requests a run)\n", v.name,
				ratioOf("gateway", v.name, func(r result) float64 { return float64(r.redisPerReq) }),
				med["gateway"].redisPerReq.Round(100*time.Nanosecond), med[v.name].redisPerReq.Round(100*time.Nanosecond), med[v.name].reqsPerRun)
		}
	}
	fmt.Println("CPU per request (median), in the kernel and in the proxy's own code")
	for _, tg := range targets {
		if m := med[tg.name]; m.cpuPerReq > 0 {
			fmt.Printf("%-14s %8s = kernel %8s + own %8s\n", tg.name, m.cpuPerReq.Round(100*time.Nanosecond),
				m.kernelPerReq.Round(100*time.Nanosecond), (m.cpuPerReq - m.kernelPerReq).Round(100*time.Nanosecond))
		}
	}
	for _, gw := range gateways {
		if err := sanity(gw+path, upstream.URL+path, token); err != nil {
			return fmt.Errorf("sanity check after the runs failed: %w", err)
		}
	}
	return nil
}

// redisSpent reads what a gateway's run cost Redis into r, as a line's
// tail (redisFigures).
func redisSpent(ctx context.Context, rdb *goredis.Client, before redisadapter.ServerCounters, r *result, d time.Duration) (string, error) {
	after, err := redisadapter.ReadServerCounters(ctx, rdb)
	if err != nil {
		return "", err
	}
	return redisFigures(after.Sub(before), r, d)
}

// redisFigures puts Redis's share of a gateway's run of d into r. A run
// that charged no budget there is an error: while Redis fails, the gateway
// limits with its own buckets (its log says why), and its figures would
// then be those of in-process limits.
func redisFigures(spent redisadapter.ServerCounters, r *result, d time.Duration) (string, error) {
	requests := r.rps * d.Seconds()
	if spent.ScriptRuns == 0 || requests == 0 {
		return "", errors.New("no budget was charged in Redis during the run: the gateway limits in process while Redis fails; see its log")
	}
	r.redisPerReq = time.Duration(float64(spent.CPU) / requests)
	r.reqsPerRun = requests / float64(spent.ScriptRuns)
	return fmt.Sprintf("; Redis %.1fµs CPU/req, %.1f req/script run", float64(r.redisPerReq)/float64(time.Microsecond), r.reqsPerRun), nil
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
}

// upstreamEnv makes this program the fixed upstream instead (see
// serveUpstream); its value is the address to listen on.
const upstreamEnv = "BENCH_GATEWAY_UPSTREAM"

// upstreamBody is the fixed answer: 1 KiB of JSON.
var upstreamBody = []byte(`{"id":"bench","data":"` + strings.Repeat("x", 1000) + `"}`)

// startUpstream runs this program again as the fixed upstream, a process
// of its own as a service is: in the harness's process it shared a
// runtime with the embedded NATS, which stores the gateway's usage
// records, so a stall of either was a stall of both.
func (b *bench) startUpstream(ctx context.Context) (*upstreamServer, error) {
	addr := freeAddr()
	cmd, err := selfAs(context.Background(), upstreamEnv, addr)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := b.lab.Start(cmd); err != nil {
		return nil, err
	}
	u := &upstreamServer{URL: "http://" + addr, Addr: addr}
	return u, launch.WaitReady(ctx, u.URL+path)
}

// selfAs is this program started again as something else: the variable
// env set to value, which main reads. The variable's name, and args, are
// in the arguments too, so that CPU figures can name the process from its
// command line. ctx kills it, as exec.CommandContext does.
func selfAs(ctx context.Context, env, value string, args ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, append([]string{env}, args...)...)
	cmd.Env = append(os.Environ(), env+"="+value)
	return cmd, nil
}

// serveUpstream serves upstreamBody on every path at addr.
func serveUpstream(addr string) error {
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(upstreamBody)
	}), ReadHeaderTimeout: 5 * time.Second}
	return srv.ListenAndServe()
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

// script writes the wrk Lua script for a round: the bearer token on every
// request, or, with fresh tokens, a new one on that share of them. The
// tokens stay in a 0600 file, off the command line. Without fresh tokens
// the header is set once, as -H would, and wrk builds its request once;
// a Lua function run for every request costs wrk CPU that the proxies
// under test then lack. With a think time, wrk's delay() paces each
// connection.
func (b *bench) script(name, token string, fresh []string, share float64) (string, error) {
	var s strings.Builder
	if len(fresh) == 0 || share == 0 {
		fmt.Fprintf(&s, "wrk.headers[\"Authorization\"] = %q\n", "Bearer "+token)
	} else {
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
	if b.think > 0 {
		fmt.Fprintf(&s, "delay = function() return %d end\n", b.think.Milliseconds())
	}
	file := filepath.Join(b.lab.Dir, name+".lua")
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
func (b *bench) wrk(ctx context.Context, target, script string) (result, error) {
	args := []string{"-t", strconv.Itoa(b.threads), "-c", strconv.Itoa(b.conns), "-d", b.duration.String(), "--latency"}
	if script != "" {
		args = append(args, "-s", script)
	}
	cmd := exec.CommandContext(ctx, "wrk", append(args, target)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	if m := errLine.Find(out); m != nil {
		return result{}, fmt.Errorf("wrk saw failures: %s", m)
	}
	// wrk has exited before the run's CPU is read from /proc, so its own
	// comes from its exit status.
	r := result{wrkCores: (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() / b.duration.Seconds()}
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

// firstWorst says in how many of rs the worst second was the first: a
// start after an idle spell (new connections, a cold pool) rather than
// something the steady load brings.
func firstWorst(rs []result) string {
	n := 0
	for _, r := range rs {
		if r.worstSecond == 1 {
			n++
		}
	}
	return fmt.Sprintf("(the first in %d of %d)", n, len(rs))
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
		rps:            pick(func(r result) float64 { return r.rps }),
		p50:            time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99:            time.Duration(pick(func(r result) float64 { return float64(r.p99) })),
		p999:           time.Duration(pick(func(r result) float64 { return float64(r.p999) })),
		max:            time.Duration(pick(func(r result) float64 { return float64(r.max) })),
		settledP99:     time.Duration(pick(func(r result) float64 { return float64(r.settledP99) })),
		worstSecondP99: time.Duration(pick(func(r result) float64 { return float64(r.worstSecondP99) })),
		cpuPerReq:      time.Duration(pick(func(r result) float64 { return float64(r.cpuPerReq) })),
		kernelPerReq:   time.Duration(pick(func(r result) float64 { return float64(r.kernelPerReq) })),
		redisPerReq:    time.Duration(pick(func(r result) float64 { return float64(r.redisPerReq) })),
		reqsPerRun:     pick(func(r result) float64 { return r.reqsPerRun }),
	}
}

// startNginx runs Debian's nginx as a plain reverse proxy to upstream:
// two workers, upstream keep-alive, access log to a file (its default).
func (b *bench) startNginx(ctx context.Context, upstream string) (string, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return "", errors.New("not installed (apt-get install nginx)")
	}
	dir := filepath.Join(b.lab.Dir, "nginx")
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
	if err := b.lab.Start(cmd); err != nil {
		return "", err
	}
	url := "http://" + addr
	if err := launch.WaitReady(ctx, url+path); err != nil {
		return "", err
	}
	return url, nil
}

// pids names the processes of interest: this program (NATS, and the
// load generators it has waited for), the services, nginx's master; wrk,
// nginx's workers, the upstream and the floors are found by name.
func (b *bench) pids() map[int]string {
	out := b.lab.Pids()
	out[os.Getpid()] = "harness"
	return out
}

// spent says, in cores, what the gateway, nginx, the floors, Redis, auth
// and the harness used between s and later, and how idle the machine was; cores
// holds the same figures by group, and kernel the part of them spent in
// the kernel.
func spent(s, later launch.CPUSample, known map[int]string) (summary string, cores, kernel map[string]float64) {
	group := func(name string) string {
		switch {
		case strings.Contains(name, "--target=gateway"):
			return "gateway"
		case strings.Contains(name, "--target=auth"):
			return "auth"
		case strings.HasPrefix(name, "nginx"):
			return "nginx"
		case strings.Contains(name, proxyEnv+" "):
			_, kind, _ := strings.Cut(name, proxyEnv+" ")
			return kind
		case strings.HasPrefix(name, "redis-server"):
			return "redis"
		case strings.Contains(name, upstreamEnv):
			return "upstream"
		case name == "harness":
			return name
		}
		return ""
	}
	use, idle := s.Spent(later, group, known)
	return launch.Cores(use, append(append([]string{"gateway", "nginx"}, floorNames...), "upstream", "harness", "redis", "auth")) + fmt.Sprintf(" cores; machine %.0f %% idle", idle*100),
		use, s.SpentInKernel(later, group, known)
}

// perfRecord is perf's command line recording process pid for d into
// file: call graphs from Go's frame pointers, the software clock at 4 kHz
// (this kind of machine has no hardware counters), the kernel's part
// included.
func perfRecord(pid int, d time.Duration, file string) []string {
	return []string{"record", "-F", "4000", "-g", "-e", "cpu-clock", "-p", strconv.Itoa(pid), "-o", file,
		"--", "sleep", strconv.FormatFloat(max(d, time.Second).Seconds(), 'f', -1, 64)}
}

// proxyGroup is the group spent puts a target's proxy in: every gateway
// (a baseline, a variant) runs as "gateway", one at a time under load;
// direct has none.
func proxyGroup(target string) string {
	switch {
	case target == "direct":
		return ""
	case target == "nginx" || floorDoc[target] != "":
		return target
	}
	return "gateway"
}

// freeAddr is a loopback address with a port nobody listens on now.
func freeAddr() string {
	addr, err := freeport.Addr()
	if err != nil {
		log.Fatal(err)
	}
	return addr
}

// proxySpec is the proxyEnv value for a bare proxy of kind on addr.
func (b *bench) proxySpec(kind, addr, upstream string) string {
	spec := kind + " " + addr + " " + upstream
	if kind == "fast-gw" {
		spec += " " + b.authURL + " " + b.issuer
	}
	return spec
}

// startProxy runs this program again as a bare reverse proxy of kind
// (go-proxy, fasthttp) to upstream and returns its URL.
func (b *bench) startProxy(ctx context.Context, kind, upstream string) (string, error) {
	addr := freeAddr()
	cmd, err := selfAs(context.Background(), proxyEnv, b.proxySpec(kind, addr, upstream), kind)
	if err != nil {
		return "", err
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if kind == "fast-gw" { // its access log
		f, err := os.Create(b.lab.Log(kind))
		if err != nil {
			return "", err
		}
		defer f.Close() // the child has its own descriptor
		cmd.Stdout = f
	}
	if err := b.lab.Start(cmd); err != nil {
		return "", err
	}
	url := "http://" + addr
	if kind == "fast-gw" { // its path wants a token
		return url, launch.WaitReady(ctx, url+"/readyz")
	}
	return url, launch.WaitReady(ctx, url+path)
}

// floorDoc says what each bare proxy is.
var floorDoc = map[string]string{
	"go-proxy": "httputil.ReverseProxy on net/http, doing nothing else",
	"rp-fast":  "httputil.ReverseProxy on a net/http server, a fasthttp client underneath",
	"mixed":    "a net/http server forwarding with a fasthttp client, no httputil",
	"fasthttp": "fasthttp server and client, nothing else",
	"epoll":    "epoll loops (lesismal/nbio) forwarding bytes as they are, nothing else",
	"fast-gw":  "fasthttp server and client with the gateway's token check, both budgets and a log line",
}

// floorNames are the floors in the order -floors documents them.
var floorNames = []string{"go-proxy", "rp-fast", "mixed", "fasthttp", "epoll", "fast-gw"}

// serveProxy is a floor for any Go proxy: a reverse proxy that does
// nothing else (no checks, limits, logs or usage), spec being "kind
// listen-address upstream-URL". go-proxy is httputil's reverse proxy on
// net/http with a pooled transport (256 idle connections, as the gateway
// has) and pooled copy buffers; fasthttp forwards each request with a
// fasthttp.HostClient, without even the hop-by-hop header handling a
// real proxy needs.
func serveProxy(spec string) error {
	f := strings.Fields(spec)
	if len(f) == 5 && f[0] == "fast-gw" {
		upstream, err := url.Parse(f[2])
		if err != nil {
			return err
		}
		return serveFastGateway(f[1], upstream, f[3], f[4])
	}
	if len(f) != 3 {
		return fmt.Errorf("%s: want \"kind address upstream-URL\"", proxyEnv)
	}
	kind, addr := f[0], f[1]
	upstream, err := url.Parse(f[2])
	if err != nil {
		return err
	}
	switch kind {
	case "epoll":
		return serveEventLoop(addr, upstream.Host)
	case "go-proxy":
		p := httputil.NewSingleHostReverseProxy(upstream)
		p.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
		p.BufferPool = &buffers{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
		p.ErrorLog = log.New(io.Discard, "", 0) // wrk drops its connections at the end of each run
		srv := &http.Server{Addr: addr, Handler: p, ReadHeaderTimeout: 5 * time.Second}
		return srv.ListenAndServe()
	case "rp-fast":
		p := httputil.NewSingleHostReverseProxy(upstream)
		p.Transport = fastTransport{&fasthttp.HostClient{Addr: upstream.Host, MaxConns: 256}}
		p.BufferPool = &buffers{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
		p.ErrorLog = log.New(io.Discard, "", 0)
		srv := &http.Server{Addr: addr, Handler: p, ReadHeaderTimeout: 5 * time.Second}
		return srv.ListenAndServe()
	case "mixed":
		client := &fasthttp.HostClient{Addr: upstream.Host, MaxConns: 256}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetMethod(r.Method)
			req.SetRequestURI(r.URL.RequestURI())
			req.SetHost(upstream.Host)
			for k, vs := range r.Header {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			if err := client.Do(req, resp); err != nil {
				http.Error(w, "the upstream is unreachable", http.StatusBadGateway)
				return
			}
			for k, v := range resp.Header.All() {
				w.Header().Add(string(k), string(v))
			}
			w.WriteHeader(resp.StatusCode())
			_, _ = w.Write(resp.Body())
		})
		srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
		return srv.ListenAndServe()
	case "fasthttp":
		client := &fasthttp.HostClient{Addr: upstream.Host, MaxConns: 256}
		return fasthttp.ListenAndServe(addr, func(ctx *fasthttp.RequestCtx) {
			if err := client.Do(&ctx.Request, &ctx.Response); err != nil {
				ctx.Error("the upstream is unreachable", fasthttp.StatusBadGateway)
			}
		})
	}
	return fmt.Errorf("%s: unknown kind %q", proxyEnv, kind)
}

type buffers struct{ pool sync.Pool }

func (p *buffers) Get() []byte  { return *p.pool.Get().(*[]byte) }
func (p *buffers) Put(b []byte) { p.pool.Put(&b) }

// fastTransport is an http.RoundTripper on a fasthttp.HostClient that
// buffers bodies: enough to measure, not a proxy's transport.
type fastTransport struct{ c *fasthttp.HostClient }

func (t fastTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(r.Method)
	req.SetRequestURI(r.URL.RequestURI())
	req.SetHost(r.URL.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if err := t.c.Do(req, resp); err != nil {
		return nil, err
	}
	out := &http.Response{StatusCode: resp.StatusCode(), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header), Request: r, ContentLength: int64(len(resp.Body()))}
	for k, v := range resp.Header.All() {
		out.Header.Add(string(k), string(v))
	}
	out.Body = io.NopCloser(bytes.NewReader(bytes.Clone(resp.Body())))
	return out, nil
}
