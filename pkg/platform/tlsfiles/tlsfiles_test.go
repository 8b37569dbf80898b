package tlsfiles_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// pki mints a CA and certificates for the named services in a temporary
// directory.
func pki(t *testing.T, services ...string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, tlsfiles.NewCA(dir))
	for _, s := range services {
		require.NoError(t, tlsfiles.Issue(dir, s, []string{"127.0.0.1", "localhost"}, time.Hour))
	}
	return dir
}

func files(dir, service string, mtls bool) tlsfiles.Files {
	f := tlsfiles.Files{Cert: filepath.Join(dir, service+".crt"), Key: filepath.Join(dir, service+".key"), CA: filepath.Join(dir, "ca.crt")}
	if mtls {
		f.ClientCA = f.CA
	}
	return f
}

// serve runs an HTTPS server with the store's server config that answers
// with the caller's service identity.
func serve(t *testing.T, s *tlsfiles.Store) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, tlsfiles.ServiceOf(r))
	}), TLSConfig: s.ServerConfig(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return "https://" + ln.Addr().String()
}

func client(tr *http.Transport) *http.Client {
	tr.DisableKeepAlives = true // every request a new handshake
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func TestMutualTLSNamesTheCallingService(t *testing.T) {
	t.Parallel()
	dir := pki(t, "resource", "gateway")
	server, err := tlsfiles.Open(files(dir, "resource", true))
	require.NoError(t, err)
	url := serve(t, server)
	gateway, err := tlsfiles.Open(files(dir, "gateway", false))
	require.NoError(t, err)

	c := client(gateway.Transport())
	defer c.CloseIdleConnections()
	resp, err := c.Get(url)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "gateway", string(body), "the caller's identity is its certificate's URI SAN")

	// No client certificate: refused during the handshake.
	anonymous := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: gateway.ClientConfig().RootCAs, InsecureSkipVerify: true} //nolint:gosec // the server side is under test
	_, err = client(&http.Transport{TLSClientConfig: anonymous}).Get(url)
	require.Error(t, err)

	// TLS 1.2 is not spoken.
	old := &tls.Config{MaxVersion: tls.VersionTLS12, InsecureSkipVerify: true} //nolint:gosec // the server side is under test
	_, err = client(&http.Transport{TLSClientConfig: old}).Get(url)
	require.Error(t, err)
}

// TestAdminListenersMayTakeCallersWithoutCertificates: the optional
// configuration accepts a caller with no certificate (a kubelet probe),
// still names one that has a valid certificate, and refuses a certificate
// from another CA.
func TestAdminListenersMayTakeCallersWithoutCertificates(t *testing.T) {
	t.Parallel()
	dir := pki(t, "resource", "gateway")
	server, err := tlsfiles.Open(files(dir, "resource", true))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "caller="+tlsfiles.ServiceOf(r))
	}), TLSConfig: server.OptionalClientServerConfig(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "https://" + ln.Addr().String()
	get := func(c *http.Client) (string, error) {
		resp, err := c.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}

	gateway, err := tlsfiles.Open(files(dir, "gateway", false))
	require.NoError(t, err)
	anonymous := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: gateway.ClientConfig().RootCAs, InsecureSkipVerify: true} //nolint:gosec // the server side is under test
	body, err := get(client(&http.Transport{TLSClientConfig: anonymous}))
	require.NoError(t, err)
	require.Equal(t, "caller=", body, "no certificate: accepted, and named no one")
	body, err = get(client(gateway.Transport()))
	require.NoError(t, err)
	require.Equal(t, "caller=gateway", body)

	stranger, err := tlsfiles.Open(files(pki(t, "gateway"), "gateway", false))
	require.NoError(t, err)
	strangerTLS := stranger.ClientConfig()
	strangerTLS.RootCAs, strangerTLS.InsecureSkipVerify, strangerTLS.VerifyConnection = gateway.ClientConfig().RootCAs, true, nil //nolint:gosec // the server side is under test
	_, err = get(client(&http.Transport{TLSClientConfig: strangerTLS}))
	require.Error(t, err, "a certificate from another CA is refused")
}

func TestClientsTrustOnlyThePinnedCA(t *testing.T) {
	t.Parallel()
	ours, theirs := pki(t, "gateway"), pki(t, "impostor")
	impostor, err := tlsfiles.Open(files(theirs, "impostor", false))
	require.NoError(t, err)
	url := serve(t, impostor)
	gateway, err := tlsfiles.Open(files(ours, "gateway", false))
	require.NoError(t, err)
	_, err = client(gateway.Transport()).Get(url)
	require.ErrorContains(t, err, "certificate signed by unknown authority")
}

// TestRotatedCertificatesAreServedWithoutARestart rewrites the server's
// files in place, as cert-manager does, and polls new connections until
// the new certificate is served; a broken rotation keeps the old one.
func TestRotatedCertificatesAreServedWithoutARestart(t *testing.T) {
	t.Parallel()
	dir := pki(t, "resource", "gateway")
	server, err := tlsfiles.Open(files(dir, "resource", false))
	require.NoError(t, err)
	url := serve(t, server)
	gateway, err := tlsfiles.Open(files(dir, "gateway", false))
	require.NoError(t, err)
	c := client(gateway.Transport())
	serial := func() string {
		resp, err := c.Get(url)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	require.NoError(t, tlsfiles.Issue(dir, "resource", []string{"127.0.0.1"}, time.Hour))
	deadline := time.Now().Add(10 * time.Second)
	for serial() == before {
		require.True(t, time.Now().Before(deadline), "the rotated certificate was never served")
		time.Sleep(50 * time.Millisecond)
	}
	rotated := serial()
	var reported atomic.Int32
	server.OnReloadError(func(error) { reported.Add(1) })

	require.NoError(t, os.WriteFile(filepath.Join(dir, "resource.key"), []byte("not a key"), 0o600))
	deadline = time.Now().Add(10 * time.Second)
	for server.Err() == nil {
		require.True(t, time.Now().Before(deadline), "the broken rotation was never noticed")
		_ = serial()
		time.Sleep(50 * time.Millisecond)
	}
	require.NotContains(t, server.Err().Error(), "not a key", "key material never appears in errors")
	require.Equal(t, rotated, serial(), "a broken rotation keeps the certificate in use")
	require.EqualValues(t, 1, reported.Load(), "the failure is reported once, not at every look")
}

func TestOpenRefusesWhatCannotWork(t *testing.T) {
	t.Parallel()
	dir := pki(t, "resource", "search")
	_, err := tlsfiles.Open(tlsfiles.Files{Cert: filepath.Join(dir, "resource.crt")})
	require.ErrorContains(t, err, "TLS_KEY_FILE")
	_, err = tlsfiles.Open(tlsfiles.Files{Cert: filepath.Join(dir, "resource.crt"), Key: filepath.Join(dir, "search.key")})
	require.ErrorContains(t, err, "do not form a pair")
	huge := filepath.Join(dir, "huge.crt")
	require.NoError(t, os.WriteFile(huge, make([]byte, tlsfiles.MaxFile+1), 0o600))
	_, err = tlsfiles.Open(tlsfiles.Files{Cert: huge, Key: filepath.Join(dir, "resource.key")})
	require.ErrorContains(t, err, "larger than")
	require.Error(t, tlsfiles.Issue(dir, "../etc", nil, time.Hour), "a service name is not a path")
	require.Error(t, tlsfiles.NewCA(dir), "an existing CA is never overwritten")
}

// TestExpiryMetrics: the collector reports when the serving certificate
// and the CA expire, and a rotation shows at the next scrape.
func TestExpiryMetrics(t *testing.T) {
	t.Parallel()
	dir := pki(t, "resource")
	s, err := tlsfiles.Open(files(dir, "resource", false))
	require.NoError(t, err)
	expiry := func(kind string) time.Time {
		reg := prometheus.NewRegistry()
		require.NoError(t, reg.Register(s.Metrics()))
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == kind {
					return time.Unix(int64(m.GetGauge().GetValue()), 0)
				}
			}
		}
		t.Fatalf("no %s expiry", kind)
		return time.Time{}
	}
	require.WithinDuration(t, time.Now().Add(time.Hour), expiry("serving"), 2*time.Minute, "issued for an hour")
	require.True(t, expiry("ca").After(time.Now().Add(24*time.Hour)), "the CA outlives its certificates")

	require.NoError(t, tlsfiles.Issue(dir, "resource", []string{"127.0.0.1"}, 48*time.Hour))
	deadline := time.Now().Add(10 * time.Second)
	for expiry("serving").Before(time.Now().Add(24 * time.Hour)) {
		require.True(t, time.Now().Before(deadline), "the rotated certificate's expiry never showed")
		time.Sleep(50 * time.Millisecond)
	}
}
