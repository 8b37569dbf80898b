package deploy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// adminPorts are the internal (metrics) listeners beside each service port.
var adminPorts = map[string]string{"8080": "9080", "8081": "9081", "8082": "9082", "8083": "9083", "8084": "9084", "8085": "9085"}

// do runs one compose verb on services, failing t on error.
func (d *deployment) do(t *testing.T, verb string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := d.compose(ctx, append([]string{verb}, args...)...)
	d.forget(args...)
	require.NoError(t, err)
}

// restore starts the services again when t ends and waits until the whole
// deployment is ready, so that the next test finds it whole.
func (d *deployment) restore(t *testing.T, services ...string) {
	t.Helper()
	t.Cleanup(func() {
		d.do(t, "start", services...)
		d.ready(t, 3*time.Minute)
	})
}

// metric reads one sample (name with its labels, as exposed) from a
// container's internal listener; -1 when it is not exposed.
func (d *deployment) metric(t *testing.T, service, sample string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr, err := d.port(ctx, service, adminPorts[latticeServices[service]])
	require.NoError(t, err)
	resp, err := d.Internal.Get("https://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	return -1
}

// logs are a container's logs so far.
func (d *deployment) logs(t *testing.T, service string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := d.compose(ctx, "logs", "--no-color", service)
	require.NoError(t, err)
	return out
}

// problem checks a fault answer: the status, problem+json, and no
// internals (addresses, drivers, SQL) in what the caller sees.
func problem(t *testing.T, resp *http.Response, status int) {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, status, resp.StatusCode, "%s", body)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	for _, internal := range []string{"tcp", "dial", "mariadb", "mysql", "redis", "sql", ":3306", ":6379", "172.", "panic", "goroutine"} {
		require.NotContains(t, strings.ToLower(string(body)), internal, "the answer shows internals: %s", body)
	}
}

// TestEveryServicePortRefusesACallerWithoutACertificate: with TLS_CLIENT_CA
// set, every service port and internal port of every container, and every
// NATS node, refuses a caller without a client certificate, and takes one
// with a certificate of the deployment's CA. The gateway's public port is
// the exception by design: its callers are users.
func TestEveryServicePortRefusesACallerWithoutACertificate(t *testing.T) {
	d := deploy(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for svc, port := range latticeServices {
		if strings.HasPrefix(svc, "gateway") {
			continue // the public door; see docs/deploy.md for its internal port
		}
		for _, p := range []string{port, adminPorts[port]} {
			addr, err := d.port(ctx, svc, p)
			require.NoError(t, err)
			require.ErrorContains(t, withoutCertificate(d, addr), "certificate required", "%s:%s", svc, p)
			resp, err := d.Internal.Get("https://" + addr + "/healthz")
			require.NoError(t, err, "%s:%s", svc, p)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
	}
	for _, n := range []string{"nats-1", "nats-2", "nats-3"} {
		addr, err := d.port(ctx, n, "4222")
		require.NoError(t, err)
		tr := d.Public.Transport.(*http.Transport)
		_, _, err = natsjs.Connect("tls://"+addr, "anonymous", nats.Secure(tr.TLSClientConfig.Clone()), nats.MaxReconnects(0))
		require.Error(t, err, "%s takes no client without a certificate", n)
	}
}

// TestTheServiceCredentialIsUselessOutsideThePlatform: every service is
// given the service client's secret, and its tokens read every resource.
// Such a token, obtained by a caller who has the secret, is refused (403)
// through the gateway, and directly by resource and search with any
// certificate but processing's (the operator's here); the job of reading
// resources with it is processing's alone, which the kill test shows working.
func TestTheServiceCredentialIsUselessOutsideThePlatform(t *testing.T) {
	d := deploy(t)
	secret, err := os.ReadFile(filepath.Join(d.state, "secrets", "service-client-secret"))
	require.NoError(t, err)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"lattice-services"}, "client_secret": {strings.TrimSpace(string(secret))}}
	resp, err := d.Public.PostForm(d.Gateway+"/oauth2/token", form)
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	require.NotEmpty(t, tok.AccessToken, "the secret is good")

	const query = `{"query":"anything","mode":"text"}`
	for _, at := range []struct {
		client *http.Client
		url    string
	}{
		{d.Public, d.Gateway + "/v1/resources"},
		{d.Public, d.Gateway + "/v1/search"},
		{d.Internal, d.url(t, "resource-1") + "/v1/resources"},
		{d.Internal, d.url(t, "search-2") + "/v1/search"},
	} {
		req, _ := http.NewRequest(http.MethodGet, at.url, nil)
		if strings.HasSuffix(at.url, "/v1/search") {
			req, _ = http.NewRequest(http.MethodPost, at.url, strings.NewReader(query))
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := at.client.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s: %s", at.url, body)
		require.Contains(t, string(body), "service credential", at.url)
	}
}

// withoutCertificate completes a TLS handshake with addr presenting no
// client certificate, then reads: the server's refusal arrives as an
// alert. (In TLS 1.3 the client's handshake ends before the server has
// checked the certificate; an HTTP client that writes first may see its
// connection closed instead of the alert, so the test reads first.)
func withoutCertificate(d *deployment, addr string) error {
	cfg := d.Public.Transport.(*http.Transport).TLSClientConfig.Clone()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	return err
}

// job is a processing job as the API shows it.
type job struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	FileID   string `json:"file_id"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
}

// jobsOf lists a resource's jobs through the gateway; nil while processing
// answers 5xx (no replica up yet).
func jobsOf(t *testing.T, client *http.Client, gw, token, resourceID string) []job {
	t.Helper()
	req, _ := http.NewRequest("GET", gw+"/v1/jobs?resource_id="+resourceID, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		// Both processing replicas may be down for a moment (the kill
		// test stops one and kills the other): the callers poll.
		return nil
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var page struct{ Items []job }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	return page.Items
}

// bigText is about n bytes of prose-like Markdown with word once, at the
// end: long enough to keep a processing job running for a while.
func bigText(n int, word string) []byte {
	var b strings.Builder
	b.WriteString("# A long report\n\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "Paragraph %d notes the tide, the wind and the gulls over harbour %d. ", i, i%97)
		if i%8 == 7 {
			b.WriteString("\n\n")
		}
	}
	b.WriteString("\n\nThe last line names the " + word + ".\n")
	return []byte(b.String())
}

// TestKillingAProcessingReplicaMidJob: with the other replica stopped, a
// long job starts on processing-1, which is then killed with SIGKILL. The
// job is redelivered once the other replica is back, completes, and its
// effect is there exactly once: the file is indexed, one hit for its
// unique word.
func TestKillingAProcessingReplicaMidJob(t *testing.T) {
	d := deploy(t)
	c := &caller{t: t, client: d.Public}
	gw := d.Gateway
	ada := session(c, gw, "kill9@faults.example", true)
	status, res := c.json("POST", gw+"/v1/resources", ada, map[string]string{"title": "Tides", "body": "a log", "visibility": "private"})
	require.Equal(t, http.StatusCreated, status, "%v", res)
	rid := res["id"].(string)

	d.restore(t, "processing-1", "processing-2")
	d.do(t, "stop", "processing-2")
	status, file := c.do("POST", gw+"/v1/resources/"+rid+"/files?name=report.md", ada, "application/octet-stream", bigText(12<<20, "quetzalcoatlus"))
	require.Equal(t, http.StatusCreated, status, "%v", file)
	fid := file["id"].(string)

	var running job
	testinfra.Within(t, time.Minute, "the file's job runs on processing-1", func() bool {
		for _, j := range jobsOf(t, d.Public, gw, ada, rid) {
			if j.FileID != fid {
				continue // the body's own job
			}
			require.NotEqual(t, "succeeded", j.State, "the file's job finished before the kill")
			if j.State == "running" {
				running = j
				return true
			}
		}
		return false
	})
	d.do(t, "kill", "-s", "SIGKILL", "processing-1")
	killed := time.Now()
	d.do(t, "start", "processing-2", "processing-1")

	testinfra.Within(t, 3*time.Minute, "the job completes after the kill", func() bool {
		for _, j := range jobsOf(t, d.Public, gw, ada, rid) {
			if j.ID == running.ID {
				require.NotEqual(t, "dead", j.State)
				if j.State == "succeeded" {
					running = j
					return true
				}
			}
		}
		return false
	})
	require.GreaterOrEqual(t, running.Attempts, 2, "the killed attempt counted, and another completed it")
	t.Logf("figure: kill -9 mid-job: completed %s after the kill, in %d attempts", time.Since(killed).Round(time.Second), running.Attempts)

	var hits int
	// Twelve MiB of chunks, indexed by both search replicas on a loaded
	// machine: the wait is generous, the poll returns as soon as it is.
	testinfra.Within(t, 3*time.Minute, "the file is indexed", func() bool {
		hits = count(searchHits(t, d.Public, gw, ada, "quetzalcoatlus", "text"), ofFile(fid))
		return hits > 0
	})
	require.Equal(t, 1, hits, "indexed once, not once per attempt")
}

// TestRestartingMariaDB: while MariaDB is down, resource's /readyz is
// false, writes get 503 problem+json without internals, and none is half
// applied; once it is back, /readyz is true again within 10 s.
func TestRestartingMariaDB(t *testing.T) {
	d := deploy(t)
	c := &caller{t: t, client: d.Public}
	gw := d.Gateway
	ada := session(c, gw, "mariadb@faults.example", true)
	replicas := []string{d.url(t, "resource-1"), d.url(t, "resource-2")}
	readyz := func(base string) int {
		resp, err := d.Internal.Get(base + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	d.restore(t, "mariadb")
	d.do(t, "stop", "mariadb")
	for _, base := range replicas {
		testinfra.Within(t, 30*time.Second, base+" reports itself not ready", func() bool { return readyz(base) == http.StatusServiceUnavailable })
	}
	for i := range 5 {
		req, _ := http.NewRequest("POST", gw+"/v1/resources", strings.NewReader(fmt.Sprintf(`{"title":"outage %d","body":"x","visibility":"private"}`, i)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+ada)
		resp, err := d.Public.Do(req)
		require.NoError(t, err)
		problem(t, resp, http.StatusServiceUnavailable)
		resp.Body.Close()
	}

	d.do(t, "start", "mariadb")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		if _, err := d.compose(ctx, "exec", "-T", "mariadb", "mariadb-admin", "ping", "-h", "127.0.0.1", "--silent"); err == nil {
			break
		}
		require.NoError(t, ctx.Err(), "MariaDB did not come back")
		time.Sleep(100 * time.Millisecond)
	}
	back := time.Now()
	for _, base := range replicas {
		testinfra.Within(t, 10*time.Second, base+" is ready within 10 s of MariaDB", func() bool { return readyz(base) == http.StatusOK })
	}
	t.Logf("figure: MariaDB restart: resource ready again %s after MariaDB accepted connections", time.Since(back).Round(10*time.Millisecond))

	status, list := c.json("GET", gw+"/v1/resources", ada, nil)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, list["items"], "no write of the outage was applied")
	status, _ = c.json("POST", gw+"/v1/resources", ada, map[string]string{"title": "after", "body": "x", "visibility": "private"})
	require.Equal(t, http.StatusCreated, status)
}

// TestStoppingRedis: without Redis the gateway limits per process (the
// credential class's budget is still enforced), says so in a metric and a
// log line, and sessions kept in Redis fail closed with 503.
func TestStoppingRedis(t *testing.T) {
	d := deploy(t)
	c := &caller{t: t, client: d.Public}
	gw := d.Gateway
	ada := session(c, gw, "redis@faults.example", true)

	d.restore(t, "redis")
	d.do(t, "stop", "redis")
	last := 0
	testinfra.Within(t, 30*time.Second, "a session check fails closed with 503", func() bool {
		req, _ := http.NewRequest("GET", gw+"/v1/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+ada)
		resp, err := d.Public.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.NotEqual(t, http.StatusOK, resp.StatusCode, "a session was accepted without its store")
		if last = resp.StatusCode; last == http.StatusServiceUnavailable {
			problem(t, resp, http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	require.Equal(t, http.StatusServiceUnavailable, last)

	// The logins go out together: the per-address budget refills one a
	// second, so logins sent one after another, each slowed by the missing
	// store under load, could each find a token again.
	codes := make([]int, 60)
	sent := time.Now()
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", gw+"/v1/sessions", strings.NewReader(`{"email":"redis@faults.example","password":"a long enough password"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := d.Public.Do(req)
			if err != nil {
				return // codes[i] stays 0 and fails below
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	// Each login that passes the limits fails on the stopped Redis within
	// a few seconds, or finds no hash slot within 500 ms. A login that
	// held a database connection meanwhile, or hashes run more than one a
	// CPU (every hash's memory faulted in at once), would queue the rest
	// past the gateway's 10 s deadline (504s).
	t.Logf("figure: Redis stopped: 60 concurrent logins answered in %s", time.Since(sent).Round(10*time.Millisecond))
	limited := 0
	for _, code := range codes {
		require.Contains(t, []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}, code, "a login without Redis")
		if code == http.StatusTooManyRequests {
			limited++
		}
	}
	// At most the burst of 20, plus one a second while they arrive, pass.
	require.GreaterOrEqual(t, limited, 20, "the credential budget (burst 20) is enforced per process")
	require.Equal(t, 1.0, d.metric(t, "gateway-1", "lattice_ratelimit_fallback"))
	require.Contains(t, d.logs(t, "gateway-1"), "shared rate limiter unavailable: limiting per process")

	d.do(t, "start", "redis")
	testinfra.Within(t, time.Minute, "the shared limiter is used again", func() bool {
		req, _ := http.NewRequest("GET", gw+"/v1/search", nil)
		resp, err := d.Public.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return d.metric(t, "gateway-1", "lattice_ratelimit_fallback") == 0
	})
}

// TestStoppingClickHouseForAMinute: usage keeps flowing through the
// gateway while ClickHouse is stopped for 60 s; the records wait in the
// USAGE stream, and every one is in the report afterwards.
func TestStoppingClickHouseForAMinute(t *testing.T) {
	d := deploy(t)
	c := &caller{t: t, client: d.Public}
	gw := d.Gateway
	ada := session(c, gw, "clickhouse@faults.example", true)
	status, res := c.json("POST", gw+"/v1/resources", ada, map[string]string{"title": "usage", "body": "x", "visibility": "private"})
	require.Equal(t, http.StatusCreated, status)
	rid := res["id"].(string)

	d.restore(t, "clickhouse")
	d.do(t, "stop", "clickhouse")
	stopped := time.Now()
	sent := 0
	js := d.operatorBus(t)
	var waited uint64
	for time.Since(stopped) < 60*time.Second {
		status, _ := c.json("GET", gw+"/v1/resources/"+rid, ada, nil)
		require.Equal(t, http.StatusOK, status)
		sent++
		if sent%50 == 0 {
			n, err := natsjs.ConsumerPending(context.Background(), js, "USAGE", "analytics-usage")
			require.NoError(t, err)
			waited = max(waited, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Positive(t, waited, "the records wait in the USAGE stream")
	d.do(t, "start", "clickhouse")

	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	to := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	// The creation and every read, once each: none lost, none doubled.
	var counted int
	testinfra.Within(t, 2*time.Minute, fmt.Sprintf("all %d calls are in the report", sent+1), func() bool {
		status, report := c.json("GET", gw+"/v1/analytics/usage?granularity=day&group_by=route&from="+from+"&to="+to, ada, nil)
		if status != http.StatusOK {
			return false
		}
		for _, p := range report["points"].([]any) {
			if pt := p.(map[string]any); pt["group"] == "/v1/resources" {
				counted = int(pt["requests"].(float64))
			}
		}
		return counted >= sent+1
	})
	require.Equal(t, sent+1, counted)
	t.Logf("figure: ClickHouse stopped 60 s: %d requests served, up to %d usage records waited in USAGE, none lost", sent, waited)
}

// balancer stands in for the load balancer in front of the two gateways:
// it sends each request to a gateway whose /readyz answered 200 at its
// last check (every 200 ms), as a cloud load balancer's health check
// would. It never retries a request.
type balancer struct {
	client *http.Client
	urls   []string
	mu     sync.Mutex
	ready  []string
	next   atomic.Uint64
}

func (b *balancer) watch(ctx context.Context) {
	for {
		var ready []string
		for _, u := range b.urls {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u+"/readyz", nil)
			if resp, err := b.client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ready = append(ready, u)
				}
			}
		}
		b.mu.Lock()
		b.ready = ready
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (b *balancer) pick() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ready) == 0 {
		return b.urls[0]
	}
	return b.ready[b.next.Add(1)%uint64(len(b.ready))]
}

// TestRollingRestartUnderLoad restarts every Lattice container, one at a
// time (SIGTERM, then the container starts again and becomes ready),
// while four clients keep reading, searching and writing through the
// gateways. Not one request fails.
func TestRollingRestartUnderLoad(t *testing.T) {
	d := deploy(t)
	c := &caller{t: t, client: d.Public}
	gw := d.Gateway
	d.createAdmin(t, "rolling@faults.example", "a long enough password")
	ops := session(c, gw, "rolling@faults.example", false)
	status, created := c.json("POST", gw+"/oauth2/clients", ops, map[string]any{"name": "load", "type": "confidential",
		"grant_types": []string{"client_credentials"}, "scopes": []string{"resources:read", "resources:write", "search:read"}})
	require.Equal(t, http.StatusCreated, status, "%v", created)
	form := "grant_type=client_credentials&scope=resources:read+resources:write+search:read&client_id=" +
		created["client"].(map[string]any)["client_id"].(string) + "&client_secret=" + created["client_secret"].(string)
	status, tok := c.do("POST", gw+"/oauth2/token", "", "application/x-www-form-urlencoded", []byte(form))
	require.Equal(t, http.StatusOK, status, "%v", tok)
	token := tok["access_token"].(string) // a JWT: checked by every service without calling auth
	status, res := c.json("POST", gw+"/v1/resources", token, map[string]string{"title": "steady", "body": "load", "visibility": "private"})
	require.Equal(t, http.StatusCreated, status, "%v", res)
	rid := res["id"].(string)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	lb := &balancer{client: d.Public, urls: []string{gw, d.url(t, "gateway-2")}}
	go lb.watch(ctx)
	var sent, failed atomic.Int64
	var firstFailures sync.Map
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			// Three readers and searchers at up to 50 requests a second
			// each, and one writer at 2 a second: a steady load that the
			// processing workers keep up with, and that does not grow the
			// corpus search replicas reload when they restart.
			pace := 20 * time.Millisecond
			if w == 3 {
				pace = 500 * time.Millisecond
			}
			for i := 0; ctx.Err() == nil; i++ {
				time.Sleep(pace)
				var req *http.Request
				switch {
				case w == 3:
					req, _ = http.NewRequest("POST", lb.pick()+"/v1/resources", strings.NewReader(`{"title":"rolling","body":"x","visibility":"private"}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", fmt.Sprintf("rolling-%d-%d", w, i))
				case i%2 == 0:
					req, _ = http.NewRequest("GET", lb.pick()+"/v1/resources/"+rid, nil)
				default:
					req, _ = http.NewRequest("POST", lb.pick()+"/v1/search", strings.NewReader(`{"query":"steady","mode":"text"}`))
					req.Header.Set("Content-Type", "application/json")
				}
				req.Header.Set("Authorization", "Bearer "+token)
				sent.Add(1)
				resp, err := d.Public.Do(req)
				if err != nil {
					failed.Add(1)
					firstFailures.LoadOrStore(failed.Load(), req.Method+" "+req.URL.Path+": "+err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					failed.Add(1)
					firstFailures.LoadOrStore(failed.Load(), fmt.Sprintf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, body))
				}
			}
		})
	}

	began := time.Now()
	for _, svc := range []string{"auth-1", "auth-2", "resource-1", "resource-2", "search-1", "search-2",
		"processing-1", "processing-2", "analytics", "gateway-1", "gateway-2"} {
		d.do(t, "restart", "-t", "30", svc)
		base := d.url(t, svc)
		client := d.Internal
		if strings.HasPrefix(svc, "gateway") {
			client = d.Public
		}
		// A search replica reloads its indexes from the store before it is
		// ready: minutes for a large corpus (docs/reliability.md).
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		require.NoError(t, readyWithin(rctx, client, base+"/readyz"), svc)
		cancel()
		// Its sibling goes only once both gateways have it back in
		// rotation (their health checks run every 2 s), or, for a gateway,
		// once the balancer sends to it again.
		if upstream, _, _ := strings.Cut(svc, "-"); upstream == "gateway" {
			testinfra.Within(t, time.Minute, svc+" is back behind the balancer", func() bool {
				lb.mu.Lock()
				defer lb.mu.Unlock()
				return len(lb.ready) == len(lb.urls)
			})
		} else {
			want := 2.0
			if upstream == "analytics" {
				want = 1
			}
			for _, g := range []string{"gateway-1", "gateway-2"} {
				testinfra.Within(t, time.Minute, svc+" is back in "+g+"'s rotation", func() bool {
					return d.metric(t, g, `lattice_gateway_upstream_replicas{state="in_rotation",upstream="`+upstream+`"}`) == want
				})
			}
		}
	}
	stop()
	wg.Wait()
	firstFailures.Range(func(k, v any) bool {
		if k.(int64) <= 5 {
			t.Log("failed:", v)
		}
		return true
	})
	require.Zero(t, failed.Load(), "requests failed during the rolling restart (of %d)", sent.Load())
	t.Logf("figure: rolling restart of 11 containers in %s: %d requests, 0 failed", time.Since(began).Round(time.Second), sent.Load())
}
