package gatewaysvc_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenverify"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

const routes = `
classes:
  default: { per_ip: { rate: 100000000, period: 1s, burst: 100000000 }, per_identity: { rate: 100000000, period: 1s, burst: 100000000 } }
routes:
  - { prefix: /v1/resources, upstream: resource, auth: auth-required, class: default, timeout: 5s }
`

var directRate float64 // measured first in the same run, for the ratio

// BenchmarkGatewayVsDirect measures requests/s and latency percentiles of
// GET /v1/resources/x served by a small upstream, called directly and
// through the gateway with EdDSA JWT verification and rate limiting on.
// The gateway sub-benchmark reports its throughput as a ratio of direct.
func BenchmarkGatewayVsDirect(b *testing.B) {
	body := strings.Repeat("x", 1024)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":"`+body+`"}`)
	}))
	defer upstream.Close()

	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	token := benchToken(b, priv, "k1")
	verifier := tokenverify.New(tokenverify.Config{Issuer: "https://auth.bench", Audience: "lattice",
		Fetch: func(context.Context) (tokenverify.Keys, error) {
			return tokenverify.Keys{"k1": priv.Public().(ed25519.PublicKey)}, nil
		}})
	dir := b.TempDir()
	file := dir + "/routes.yaml"
	if err := os.WriteFile(file, []byte(routes), 0o600); err != nil {
		b.Fatal(err)
	}
	svc, err := gatewaysvc.New(gatewaysvc.Config{RoutesFile: file, Verifier: verifier, Limiter: tokenbucket.New(),
		Upstreams: map[string]string{"resource": upstream.URL}, MaxInFlight: 10000}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	gw := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	defer gw.Close()
	// The same gateway with its fast front (GATEWAY_SERVER=fasthttp, ADR
	// 0044), served as lattice serve serves it.
	frontSvc, err := gatewaysvc.New(gatewaysvc.Config{RoutesFile: file, Verifier: verifier, Limiter: tokenbucket.New(),
		Upstreams: map[string]string{"resource": upstream.URL}, MaxInFlight: 10000, Server: gatewaysvc.ServerFastHTTP}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	frontSrv, err := httpserver.Bind(httpserver.Config{Addr: "127.0.0.1:0"}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	frontSrv.Handle(httpserver.Handler(httpserver.Config{}, frontSvc.HTTP))
	frontSrv.HandleFast(frontSvc.HTTP.Fast(nil))
	serving, stopFront := context.WithCancel(context.Background())
	frontDone := make(chan error, 1)
	go func() { frontDone <- frontSrv.Serve(serving) }()
	defer func() {
		stopFront()
		if err := <-frontDone; err != nil {
			b.Error(err)
		}
	}()

	run := func(b *testing.B, url string) float64 {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		defer client.CloseIdleConnections()
		var mu sync.Mutex
		var lat []time.Duration
		b.ReportAllocs()
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			local := make([]time.Duration, 0, 1024)
			for pb.Next() {
				req, _ := http.NewRequest(http.MethodGet, url+"/v1/resources/x", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
		b.StopTimer()
		rate := float64(b.N) / b.Elapsed().Seconds()
		slices.Sort(lat)
		if len(lat) > 0 {
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		}
		b.ReportMetric(rate, "req/s")
		return rate
	}
	b.Run("direct", func(b *testing.B) { directRate = run(b, upstream.URL) })
	b.Run("gateway", func(b *testing.B) {
		rate := run(b, gw.URL)
		if directRate > 0 {
			b.ReportMetric(rate/directRate, "x-direct")
		}
	})
	b.Run("gateway-fastfront", func(b *testing.B) {
		rate := run(b, "http://"+frontSrv.Addr().String())
		if directRate > 0 {
			b.ReportMetric(rate/directRate, "x-direct")
		}
	})
	// The floor net/http sets for any Go proxy: httputil's reverse proxy
	// and nothing else (no checks, no limits, no logs), so that the
	// gateway's figures split into what net/http costs and what the
	// gateway adds.
	bare := httputil.NewSingleHostReverseProxy(mustParse(b, upstream.URL))
	bare.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	goProxy := httptest.NewServer(bare)
	defer goProxy.Close()
	b.Run("go-proxy", func(b *testing.B) {
		rate := run(b, goProxy.URL)
		if directRate > 0 {
			b.ReportMetric(rate/directRate, "x-direct")
		}
	})
	// A further column when Debian's nginx is installed: a plain reverse
	// proxy (no token checks, no limits) to the same upstream.
	if nginxURL, stop := startNginx(b, upstream.URL); nginxURL != "" {
		defer stop()
		b.Run("nginx", func(b *testing.B) {
			rate := run(b, nginxURL)
			if directRate > 0 {
				b.ReportMetric(rate/directRate, "x-direct")
			}
		})
	}
}

// startNginx runs nginx in the foreground with a private prefix directory
// and returns its URL, or "" when nginx is not installed.
func startNginx(b *testing.B, upstream string) (string, func()) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return "", nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := b.TempDir()
	conf := fmt.Sprintf(`worker_processes 2;
user root;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fcgi; uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  upstream up { server %[2]s; keepalive 64; }
  server {
    listen %[3]s;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`, dir, strings.TrimPrefix(upstream, "http://"), addr)
	if err := os.WriteFile(dir+"/nginx.conf", []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", dir+"/nginx.conf", "-g", "daemon off;")
	if err := cmd.Start(); err != nil {
		b.Logf("nginx did not start: %v", err)
		return "", nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			b.Logf("nginx did not listen on %s", addr)
			return "", nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + addr, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
}

// benchToken signs an access token as the auth service would (RFC 9068,
// EdDSA), with jwx directly: the gateway does not import auth's packages.
func benchToken(b *testing.B, priv ed25519.PrivateKey, kid string) string {
	key, err := jwk.Import(priv)
	if err != nil {
		b.Fatal(err)
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.NewBuilder().Issuer("https://auth.bench").Subject("u1").Audience([]string{"lattice"}).
		IssuedAt(now).NotBefore(now).Expiration(now.Add(time.Hour)).JwtID("j").Claim("scope", "resources:read").Build()
	if err != nil {
		b.Fatal(err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, "at+jwt"); err != nil {
		b.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA(), key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		b.Fatal(err)
	}
	return string(signed)
}

func mustParse(b *testing.B, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	return u
}
