// Command journeys measures the platform's main journeys end to end, at a
// fixed arrival rate, as a client sees them through the gateway.
//
// It starts the whole platform as `make run` does (`lattice serve
// --target=all`: the six services, embedded NATS, in-process limits) on
// fresh databases and free ports, with the default route table but
// budgets high enough not to refuse the load. It signs a user up, seeds
// resources, waits until search finds them, and then offers each journey
// at -rate requests per second for -duration with vegeta's attacker, a
// generator that keeps the schedule whatever the answers' latency, so a
// slow answer cannot hold back the requests behind it (no coordinated
// omission). The program is its own process: the load is not generated
// inside the process under test. Before each journey it waits until the
// background pipeline (indexing, processing, analytics) has caught up, so
// no journey runs behind another's backlog, and it reports how long the
// pipeline took to catch up after each journey but the last.
//
//	go run ./bench/journeys                      # make bench-journeys
//	go run ./bench/journeys -journeys get,search -duration 20s
//
// A journey passes when every request succeeded and its P95 is within its
// goal (10 ms; 50 ms for the upload); the program prints each journey's
// percentiles, status codes and the CPU the platform used, and exits 1 if
// any journey failed.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/lattice-platform/lattice/bench/internal/launch"
	"github.com/lattice-platform/lattice/pkg/testinfra/freeport"
)

func main() {
	rate := flag.Int("rate", 200, "requests per second offered to each journey")
	duration := flag.Duration("duration", 60*time.Second, "each journey's length")
	journeys := flag.String("journeys", "get,search,create,upload", "which journeys, in this order")
	uploadSize := flag.Int("upload-size", 100<<10, "the upload journey's file size in bytes")
	pgURL := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/postgres", "a PostgreSQL server (auth's and analytics' stores)")
	myDSN := flag.String("mysql", "root@tcp(127.0.0.1:3306)/", "a MySQL-protocol server (resource's and search's stores)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the platform during each journey to <this>-<journey>.pprof, and of the time after it (the background's catch-up, but for the last journey) to <this>-<journey>-after.pprof (go tool pprof)")
	after := flag.Duration("after", 0, "how long the -cpuprofile after a journey records: as long as the journey when 0")
	corpus := flag.Int("corpus", 0, "upload this many files to the seeded resources before the journeys, 100 a second, and wait until they are indexed, so that the journeys run on a larger corpus (a 100 KiB file is 118 chunks)")
	flag.Parse()
	var chosen []journey
	for name := range strings.SplitSeq(*journeys, ",") {
		j, ok := catalogue[name]
		if !ok {
			log.Fatalf("unknown journey %q (have get, search, create, upload)", name)
		}
		chosen = append(chosen, j)
	}
	if *rate <= 0 || *duration <= 0 || *uploadSize <= 0 {
		log.Fatal("-rate, -duration and -upload-size must be positive")
	}
	if *after < 0 || *corpus < 0 {
		log.Fatal("-after and -corpus must not be negative")
	}
	if *after == 0 {
		*after = *duration
	}
	ok, err := run(chosen, *rate, *duration, *uploadSize, *corpus, *pgURL, *myDSN, *profile, *after)
	if err != nil {
		log.Fatal(err)
	}
	if !ok {
		os.Exit(1)
	}
}

// journey is one request shape, offered at the fixed rate.
type journey struct {
	name  string
	title string
	goal  time.Duration // P95
	// targets returns the requests to send, one per call.
	targets func(p *platform) vegeta.Targeter
}

var catalogue = map[string]journey{
	"get":    {"get", "GET /v1/resources/{id}", 10 * time.Millisecond, (*platform).getTargets},
	"search": {"search", "POST /v1/search (hybrid)", 10 * time.Millisecond, (*platform).searchTargets},
	"create": {"create", "POST /v1/resources", 10 * time.Millisecond, (*platform).createTargets},
	"upload": {"upload", "POST /v1/resources/{id}/files", 50 * time.Millisecond, (*platform).uploadTargets},
}

// platform is the running `lattice serve --target=all` and what the
// journeys need of it.
type platform struct {
	lab        *launch.Lab
	gateway    string
	admin      string   // an admin listener of the platform's process
	admins     []string // every service's admin listener
	token      string
	resources  []string // seeded resource ids
	uploadSize int
}

// seeded is how many resources the GET and upload journeys rotate over.
const seeded = 200

func run(journeys []journey, rate int, d time.Duration, uploadSize, corpus int, pgURL, myDSN, profile string, afterFor time.Duration) (bool, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := start(ctx, pgURL, myDSN, profile != "")
	if err != nil {
		return false, err
	}
	defer p.lab.Close()
	p.uploadSize = uploadSize
	if err := p.seed(ctx); err != nil {
		return false, err
	}
	if err := p.loadCorpus(ctx, corpus); err != nil {
		return false, err
	}
	fmt.Printf("vegeta attack: %d req/s for %s per journey, %d seeded resources, %d KiB uploads\n\n",
		rate, d, seeded, uploadSize>>10)
	fmt.Printf("%-32s %9s %9s %9s %9s %9s  %-8s %s\n", "journey", "requests", "P50", "P95", "P99", "max", "P95 goal", "result")
	passed := true
	var notes []string
	if _, err := drain(ctx, p.admins, drainLimit); err != nil {
		return false, fmt.Errorf("after seeding: %w", err)
	}
	for i, j := range journeys {
		var profiled chan error
		if profile != "" {
			profiled = make(chan error, 1)
			go func() { profiled <- launch.CPUProfile(p.admin, d-time.Second, profile+"-"+j.name+".pprof") }()
		}
		before := launch.ReadCPU()
		m, parts := attack(j.targets(p), rate, d)
		cpu := spent(before, launch.ReadCPU(), p.pids())
		if profiled != nil {
			if err := <-profiled; err != nil {
				return false, fmt.Errorf("profile: %w", err)
			}
		}
		verdict := "ok"
		switch {
		case m.Success < 1:
			verdict = fmt.Sprintf("FAILED: %.2f %% errors", 100*(1-m.Success))
		case m.Latencies.P95 > j.goal:
			verdict = "over the goal"
		}
		if verdict != "ok" {
			passed = false
		}
		fmt.Printf("%-32s %9d %9s %9s %9s %9s  %-8s %s\n", j.title, m.Requests, round(m.Latencies.P50),
			round(m.Latencies.P95), round(m.Latencies.P99), round(m.Latencies.Max), j.goal, verdict)
		caughtUp := "not waited for (the last journey)"
		if i < len(journeys)-1 {
			// The background's own profile: what working off the journey's
			// backlog costs, while no request is served.
			var after chan error
			if profile != "" {
				after = make(chan error, 1)
				go func() { after <- launch.CPUProfile(p.admin, afterFor, profile+"-"+j.name+"-after.pprof") }()
			}
			lag, err := drain(ctx, p.admins, drainLimit)
			if err != nil {
				return false, fmt.Errorf("after %s: %w", j.name, err)
			}
			if after != nil {
				if err := <-after; err != nil {
					return false, fmt.Errorf("profile: %w", err)
				}
			}
			caughtUp = lag.String() + "; " + perRequest(before, launch.ReadCPU(), p.pids(), m.Requests)
		}
		notes = append(notes, fmt.Sprintf("%s: status %s; %s; cpu: %s; background caught up: %s%s",
			j.name, codes(m.StatusCodes), parts, cpu, caughtUp, firstErrors(m.Errors)))
	}
	fmt.Println()
	for _, n := range notes {
		fmt.Println(n)
	}
	return passed, nil
}

// attack offers the targets at rate for d (until they run out when d is
// 0) and summarises the results, for the whole journey and for each
// window of it.
func attack(tr vegeta.Targeter, rate int, d time.Duration) (*vegeta.Metrics, windows) {
	a := vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.KeepAlive(true), vegeta.MaxBody(1<<20))
	var m vegeta.Metrics
	w := windows{start: time.Now()}
	for res := range a.Attack(tr, vegeta.Rate{Freq: rate, Per: time.Second}, d, "") {
		if res.Error == vegeta.ErrNoTargets.Error() {
			continue // a limited targeter's end (limited), not a request
		}
		m.Add(res)
		w.add(res)
	}
	m.Close()
	w.close()
	return &m, w
}

// window is how long each part of a journey summarised apart lasts.
const window = 15 * time.Second

// windows summarises a journey's requests by when they were sent, one
// window at a time, so that a tail growing as the run goes on (a backlog
// that takes ever more of the cores) is told from one spread evenly.
type windows struct {
	start time.Time // when the attack began; each result's Timestamp is when it was sent
	parts []*vegeta.Metrics
}

func (w *windows) add(res *vegeta.Result) {
	i := max(0, int(res.Timestamp.Sub(w.start)/window))
	for len(w.parts) <= i {
		w.parts = append(w.parts, &vegeta.Metrics{})
	}
	w.parts[i].Add(res)
}

func (w *windows) close() {
	for _, m := range w.parts {
		m.Close()
	}
}

// String is each window's P95, in order, e.g. "P95 by 15s: 14ms 22ms"
// ("-" for a window in which no request was sent).
func (w windows) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "P95 by %s:", window)
	for _, m := range w.parts {
		if m.Requests == 0 {
			b.WriteString(" -")
			continue
		}
		b.WriteString(" " + round(m.Latencies.P95).String())
	}
	return b.String()
}

func round(d time.Duration) time.Duration {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(100 * time.Microsecond)
}

func codes(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func firstErrors(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return "; errors: " + strings.Join(errs[:min(3, len(errs))], " | ")
}

// start runs the platform on fresh databases and waits until every
// service is ready.
func start(ctx context.Context, pgURL, myDSN string, profiling bool) (*platform, error) {
	lab, err := launch.New("bench-journeys-")
	if err != nil {
		return nil, err
	}
	p := &platform{lab: lab}
	fail := func(err error) (*platform, error) { lab.Close(); return nil, err }
	type store struct {
		create func(context.Context, string, string) (string, error)
		server string
	}
	postgres, mysql := store{lab.Postgres, pgURL}, store{lab.MySQL, myDSN}
	stores := map[string]store{"AUTH": postgres, "ANALYTICS": postgres, "RESOURCE": mysql, "SEARCH": mysql}
	env := []string{"REDIS_URL=", "LOG_LEVEL=info", "LATTICE_DATA_DIR=" + filepath.Join(lab.Dir, "data")}
	if profiling {
		env = append(env, "ADMIN_PPROF=true")
	}
	for svc, st := range stores {
		db, err := st.create(ctx, st.server, "bench_journeys_"+strings.ToLower(svc))
		if err != nil {
			return fail(fmt.Errorf("%s's store: %w", strings.ToLower(svc), err))
		}
		env = append(env, svc+"_DATABASE_URL="+db)
	}
	for _, svc := range []string{"AUTH", "RESOURCE", "SEARCH", "PROCESSING", "ANALYTICS", "GATEWAY"} {
		addr, err := freeport.Addr()
		if err != nil {
			return fail(err)
		}
		admin, err := freeport.Addr()
		if err != nil {
			return fail(err)
		}
		env = append(env, svc+"_ADDR="+addr, svc+"_ADMIN_ADDR="+admin)
		p.admins = append(p.admins, "http://"+admin)
		if svc == "GATEWAY" {
			p.gateway, p.admin = "http://"+addr, "http://"+admin
		}
	}
	routes := filepath.Join(lab.Dir, "routes.yaml")
	if err := os.WriteFile(routes, []byte(routeTable), 0o600); err != nil {
		return fail(err)
	}
	env = append(env, "GATEWAY_ROUTES_FILE="+routes)
	if _, err := lab.Serve("all", env); err != nil {
		return fail(err)
	}
	for _, admin := range p.admins {
		if err := launch.WaitReady(ctx, admin+"/readyz"); err != nil {
			return fail(fmt.Errorf("%w (log: %s)", err, lab.Log("all")))
		}
	}
	return p, nil
}

// routeTable is the default table (services/gateway/routing/routes.yaml)
// with budgets that a 200 req/s run from one address does not exhaust;
// they are still charged on every request.
const routeTable = `
classes:
  default:
    per_ip:       { rate: 1000000, period: 1s, burst: 1000000 }
    per_identity: { rate: 1000000, period: 1s, burst: 1000000 }
  credentials:
    per_ip:       { rate: 60, period: 1m, burst: 20 }
    per_identity: { rate: 120, period: 1m, burst: 40 }
routes:
  - { prefix: /v1/users,     upstream: auth,       auth: optional-auth, class: credentials, timeout: 10s }
  - { prefix: /v1/sessions,  upstream: auth,       auth: optional-auth, class: credentials, timeout: 10s }
  - { prefix: /oauth2,       upstream: auth,       auth: public,        class: credentials, timeout: 10s }
  - { prefix: /.well-known,  upstream: auth,       auth: public,        class: default,     timeout: 5s }
  - { prefix: /v1/resources, upstream: resource,   auth: optional-auth, class: default,     timeout: 30s, max_body_bytes: 27262976 }
  - { prefix: /v1/search,    upstream: search,     auth: optional-auth, class: default,     timeout: 10s }
  - { prefix: /v1/jobs,      upstream: processing, auth: auth-required, class: default,     timeout: 10s }
`

// call sends one JSON request through the gateway and decodes the answer.
func (p *platform) call(ctx context.Context, method, path string, body any, want int, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, p.gateway+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, answer)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(answer, out)
}

// seed signs a user up, creates the resources the journeys rotate over,
// checks one round trip of each journey, and waits until search finds a
// seeded resource (indexing is asynchronous).
func (p *platform) seed(ctx context.Context) error {
	const email, password = "bench@journeys.example", "a long enough password"
	if err := p.call(ctx, "POST", "/v1/users", map[string]string{"email": email, "password": password, "display_name": "Bench"}, http.StatusCreated, nil); err != nil {
		return err
	}
	var login struct{ Token string }
	if err := p.call(ctx, "POST", "/v1/sessions", map[string]string{"email": email, "password": password}, http.StatusCreated, &login); err != nil {
		return err
	}
	p.token = login.Token
	for i := range seeded {
		var r struct{ ID string }
		if err := p.call(ctx, "POST", "/v1/resources", resourceBody(i), http.StatusCreated, &r); err != nil {
			return err
		}
		p.resources = append(p.resources, r.ID)
	}
	var got struct{ ID string }
	if err := p.call(ctx, "GET", "/v1/resources/"+p.resources[0], nil, http.StatusOK, &got); err != nil {
		return fmt.Errorf("sanity: reading a seeded resource back: %w", err)
	}
	if got.ID != p.resources[0] {
		return fmt.Errorf("sanity: reading resource %s back gave %q", p.resources[0], got.ID)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var out struct {
			Hits []struct {
				ResourceID string `json:"resource_id"`
			} `json:"hits"`
		}
		err := p.call(ctx, "POST", "/v1/search", searchBody(seeded-1), http.StatusOK, &out)
		if err == nil && slices.ContainsFunc(out.Hits, func(h struct {
			ResourceID string `json:"resource_id"`
		}) bool {
			return h.ResourceID == p.resources[seeded-1]
		}) {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("sanity: search did not find the last seeded resource within 2 min: %w", err)
			}
			return fmt.Errorf("sanity: search did not find the last seeded resource within 2 min: its answers (%d hits) left it out", len(out.Hits))
		}
		time.Sleep(250 * time.Millisecond) // polling the asynchronous index
	}
}

// drainLimit bounds the wait for the background pipeline to catch up.
const drainLimit = 15 * time.Minute

// drain waits until the platform's background pipeline has done what the
// requests so far left it (search indexing, processing's intake and jobs,
// analytics' ingestion): until every service, at its admin listener,
// reports each of its JetStream consumers' lattice_consumer_pending as 0.
// Each journey then starts on an idle platform, not behind the one before
// it, and the wait is how far the pipeline lagged behind the load. It
// returns that wait, or an error once limit has passed.
// caughtUp is how long after the wait began the whole pipeline, and each
// consumer of it, last had a message pending.
type caughtUp struct {
	all       time.Duration
	consumers map[string]time.Duration // consumer → its lag's end; absent: never behind
}

// String names the consumers that were behind, the last first.
func (c caughtUp) String() string {
	s := c.all.Round(100*time.Millisecond).String() + " after the last request"
	names := slices.Collect(maps.Keys(c.consumers))
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(c.consumers[b], c.consumers[a]) })
	var parts []string
	for _, n := range names {
		parts = append(parts, n+" "+c.consumers[n].Round(100*time.Millisecond).String())
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

func drain(ctx context.Context, admins []string, limit time.Duration) (caughtUp, error) {
	began := time.Now()
	c := caughtUp{consumers: map[string]time.Duration{}}
	for {
		lags, err := pending(ctx, admins)
		var sum float64
		for name, n := range lags {
			sum += n
			if n > 0 {
				c.consumers[name] = time.Since(began)
			}
		}
		if err == nil && sum == 0 {
			c.all = time.Since(began)
			return c, nil
		}
		if time.Since(began) > limit {
			if err != nil {
				return c, fmt.Errorf("the background pipeline did not catch up within %s: %w", limit, err)
			}
			return c, fmt.Errorf("the background pipeline did not catch up within %s: %v messages pending", limit, sum)
		}
		time.Sleep(200 * time.Millisecond) // polling the platform's metrics
	}
}

// maxMetrics bounds one service's /metrics page. A longer page is an
// error, not cut short: a lag line past the cut would go unread, and the
// pipeline would look idle.
const maxMetrics = 4 << 20

// pending reads lattice_consumer_pending from the services' metrics: each
// consumer's lag, by its consumer label.
func pending(ctx context.Context, admins []string) (map[string]float64, error) {
	lags := map[string]float64{}
	for _, admin := range admins {
		req, err := http.NewRequestWithContext(ctx, "GET", admin+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetrics+1))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(body) > maxMetrics {
			return nil, fmt.Errorf("%s: metrics page over %d bytes", admin, maxMetrics)
		}
		for line := range strings.Lines(string(body)) {
			if !strings.HasPrefix(line, "lattice_consumer_pending") {
				continue
			}
			fields := strings.Fields(line)
			v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
			if err != nil || math.IsNaN(v) {
				return nil, fmt.Errorf("%s: unreadable lag %q", admin, strings.TrimSpace(line))
			}
			lags[consumerOf(fields[0])] += v
		}
	}
	return lags, nil
}

// consumerOf is the consumer label of a sample's name and labels, or the
// whole of them when it has none.
func consumerOf(series string) string {
	_, rest, ok := strings.Cut(series, `consumer="`)
	if !ok {
		return series
	}
	name, _, _ := strings.Cut(rest, `"`)
	return name
}

// words makes each seeded resource findable by a word of its own.
func word(i int) string { return "quokka" + strconv.Itoa(i) }

func resourceBody(i int) map[string]string {
	return map[string]string{"title": "Field notes " + strconv.Itoa(i),
		"body":       "Observations of the " + word(i) + " at dusk, and of the pangolin.",
		"visibility": "private"}
}

func searchBody(i int) map[string]any {
	return map[string]any{"query": word(i) + " pangolin", "mode": "hybrid", "limit": 20}
}

// pids names the platform's process and this one (the load generator).
func (p *platform) pids() map[int]string {
	m := p.lab.Pids()
	m[os.Getpid()] = "vegeta"
	return m
}

// rotate returns a targeter that fills each target from the request's
// sequence number, safe for vegeta's concurrent workers.
func (p *platform) rotate(fill func(n int, t *vegeta.Target) error) vegeta.Targeter {
	var seq atomic.Int64
	header := http.Header{"Authorization": {"Bearer " + p.token}, "Content-Type": {"application/json"}}
	return func(t *vegeta.Target) error {
		if t == nil {
			return vegeta.ErrNilTarget
		}
		t.Header = header
		return fill(int(seq.Add(1)-1), t)
	}
}

func (p *platform) getTargets() vegeta.Targeter {
	return p.rotate(func(n int, t *vegeta.Target) error {
		t.Method, t.URL, t.Body = "GET", p.gateway+"/v1/resources/"+p.resources[n%seeded], nil
		return nil
	})
}

func (p *platform) searchTargets() vegeta.Targeter {
	bodies := make([][]byte, seeded)
	for i := range bodies {
		bodies[i], _ = json.Marshal(searchBody(i))
	}
	return p.rotate(func(n int, t *vegeta.Target) error {
		t.Method, t.URL, t.Body = "POST", p.gateway+"/v1/search", bodies[n%seeded]
		return nil
	})
}

func (p *platform) createTargets() vegeta.Targeter {
	return p.rotate(func(n int, t *vegeta.Target) error {
		body, err := json.Marshal(resourceBody(seeded + n))
		t.Method, t.URL, t.Body = "POST", p.gateway+"/v1/resources", body
		return err
	})
}

// corpusRate is how fast loadCorpus uploads: a corpus of a few thousand
// files is sent within a minute. The pipeline indexes them more slowly
// (20–25 a second on session 66's two cores), and loadCorpus waits for it.
const corpusRate = 100

// loadCorpus uploads n files to the seeded resources and waits until the
// pipeline has indexed them, so that the journeys run on a corpus of that
// size rather than on the seeded resources alone.
func (p *platform) loadCorpus(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	began := time.Now()
	m, _ := attack(limited(p.uploads("corpus"), n), corpusRate, 0)
	if m.Success < 1 || m.Requests != uint64(n) {
		return fmt.Errorf("corpus: %d of %d uploads sent, status %s%s", m.Requests, n, codes(m.StatusCodes), firstErrors(m.Errors))
	}
	sent := time.Since(began)
	lag, err := drain(ctx, p.admins, drainLimit)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	fmt.Printf("corpus: %d uploads of %d KiB sent in %s; background caught up: %s\n", n, p.uploadSize>>10, sent.Round(100*time.Millisecond), lag)
	return nil
}

// limited ends tr's requests after n: vegeta stops an attack when its
// targeter has no more.
func limited(tr vegeta.Targeter, n int) vegeta.Targeter {
	var sent atomic.Int64
	return func(t *vegeta.Target) error {
		if sent.Add(1) > int64(n) {
			return vegeta.ErrNoTargets
		}
		return tr(t)
	}
}

// uploadTargets sends Markdown files of uploadSize bytes, spread over the
// seeded resources; each is then extracted and indexed in the background,
// as a real upload is.
func (p *platform) uploadTargets() vegeta.Targeter { return p.uploads("notes") }

// uploads is uploadTargets with the files named <name>-<n>.md.
func (p *platform) uploads(name string) vegeta.Targeter {
	var doc bytes.Buffer
	doc.WriteString("# Field notes\n\n")
	for i := 0; doc.Len() < p.uploadSize; i++ {
		fmt.Fprintf(&doc, "The %s was seen near the river bend at dusk. ", word(i%seeded))
	}
	body := doc.Bytes()[:p.uploadSize]
	header := http.Header{"Authorization": {"Bearer " + p.token}, "Content-Type": {"application/octet-stream"}}
	return p.rotate(func(n int, t *vegeta.Target) error {
		t.Method, t.Body, t.Header = "POST", body, header
		t.URL = fmt.Sprintf("%s/v1/resources/%s/files?name=%s-%d.md", p.gateway, p.resources[n%seeded], name, n)
		return nil
	})
}

// spent says, in cores, what the platform, its databases and the load
// generator (this program) used between s and later, and how idle the
// machine was.
func spent(s, later launch.CPUSample, known map[int]string) string {
	use, idle := s.Spent(later, processGroup, known)
	return launch.Cores(use, []string{"lattice", "mariadb", "postgres", "vegeta"}) + fmt.Sprintf(" cores; machine %.0f %% idle", idle*100)
}

// perRequest prints the CPU the platform's processes used between s, a
// journey's start, and later, once its backlog is worked off, for each of
// its requests: what a request costs with the background it sets off,
// which the journey's own cores leave out.
func perRequest(s, later launch.CPUSample, known map[int]string, requests uint64) string {
	if requests == 0 {
		return "no requests"
	}
	used := s.Used(later, processGroup, known)
	var parts []string
	for _, g := range []string{"lattice", "mariadb", "postgres"} {
		if d := used[g] / time.Duration(requests); d >= 10*time.Microsecond {
			parts = append(parts, fmt.Sprintf("%s %s", g, round(d)))
		}
	}
	return "cpu a request with its background: " + strings.Join(parts, ", ")
}

// processGroup names the group a process's CPU is counted in, "" for
// none.
func processGroup(name string) string {
	switch {
	case strings.Contains(name, "serve --target=all"):
		return "lattice"
	case strings.HasPrefix(name, "mariadb"), strings.HasPrefix(name, "mysqld"):
		return "mariadb"
	case strings.HasPrefix(name, "postgres"):
		return "postgres"
	case name == "vegeta":
		return name
	}
	return ""
}
