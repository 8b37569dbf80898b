// Package tlsfiles is TLS 1.3 for every listener and internal client,
// from certificate files that are reloaded when they change (cert-manager
// rotates them in place), so neither a restart nor a dropped connection is
// needed. A service presents its own certificate to its callers and, as a
// client, to the services it calls; it trusts only the configured CA (the
// pin); and with a client CA configured it refuses callers without a valid
// client certificate (mTLS). A service's identity is its certificate's URI
// SAN, spiffe://lattice/<service>.
package tlsfiles

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Files names the PEM files; empty fields are unused.
type Files struct {
	Cert, Key string // this service's certificate chain and private key
	CA        string // the CA that signs the services this one calls (pinned)
	ClientCA  string // the CA callers' client certificates must chain to; set: mTLS
}

// Enabled reports whether the listeners serve TLS.
func (f Files) Enabled() bool { return f.Cert != "" }

// recheck is how often, at most, the files are looked at again.
const recheck = time.Second

// MaxFile bounds a certificate or key file.
const MaxFile = 1 << 20

// Store holds the loaded files and reloads them when they change on disk.
// It starts no goroutine: each handshake asks it, and it looks at the files
// at most once a second.
type Store struct {
	files Files
	now   func() time.Time

	mu       sync.Mutex
	checked  time.Time
	stamp    string // the files' sizes and modification times when loaded
	cert     *tls.Certificate
	roots    *x509.CertPool
	clientCA *x509.CertPool
	err      error // the last reload's failure; the previous files stay in use
	onError  func(error)
}

// OnReloadError has f told (once per new failure) when changed files
// cannot be loaded and the certificate in use stays: a rotation gone wrong
// must be seen before the old certificate expires.
func (s *Store) OnReloadError(f func(error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onError = f
}

// Open loads files; an error means the service cannot start with them.
func Open(files Files) (*Store, error) {
	if files.Cert == "" || files.Key == "" {
		return nil, errors.New("TLS needs both TLS_CERT_FILE and TLS_KEY_FILE")
	}
	s := &Store{files: files, now: time.Now}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Err is the last reload's failure (nil when the files in use are current).
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Store) stampOf() string {
	var b strings.Builder
	for _, p := range []string{s.files.Cert, s.files.Key, s.files.CA, s.files.ClientCA} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// refresh reloads the files when they changed since the last look.
func (s *Store) refresh() {
	s.mu.Lock()
	now := s.now()
	if now.Sub(s.checked) < recheck {
		s.mu.Unlock()
		return
	}
	s.checked = now
	if s.stampOf() == s.stamp {
		s.mu.Unlock()
		return
	}
	prev := s.err
	s.err = s.loadLocked()
	err, notify := s.err, s.onError
	s.mu.Unlock()
	if err != nil && notify != nil && (prev == nil || prev.Error() != err.Error()) {
		notify(err)
	}
}

func (s *Store) load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checked = s.now()
	return s.loadLocked()
}

// loadLocked reads every file; on any failure nothing changes, so a
// half-written rotation never replaces a working certificate.
func (s *Store) loadLocked() error {
	stamp := s.stampOf()
	certPEM, err := readFile(s.files.Cert)
	if err != nil {
		return err
	}
	keyPEM, err := readFile(s.files.Key)
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The key's bytes are never part of the message.
		return fmt.Errorf("TLS certificate %s and key %s do not form a pair", s.files.Cert, s.files.Key)
	}
	roots, err := Pool(s.files.CA)
	if err != nil {
		return err
	}
	clientCA, err := Pool(s.files.ClientCA)
	if err != nil {
		return err
	}
	s.cert, s.roots, s.clientCA, s.stamp = &cert, roots, clientCA, stamp
	return nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("TLS: read %s failed", path)
	}
	if len(b) > MaxFile {
		return nil, fmt.Errorf("TLS: %s is larger than %d bytes", path, MaxFile)
	}
	return b, nil
}

// Pool reads a PEM CA bundle (at most MaxFile bytes) into a pool; "" is
// no pool. Stores' TLS settings (MySQL, Redis) read their CAs with it.
func Pool(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("TLS: %s holds no PEM certificate", path)
	}
	return p, nil
}

func (s *Store) current() (*tls.Certificate, *x509.CertPool, *x509.CertPool) {
	s.refresh()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cert, s.roots, s.clientCA
}

// Identity is the Lattice service this process's own certificate names
// (its spiffe://lattice/<service> URI SAN), or "".
func (s *Store) Identity() string {
	cert, _, _ := s.current()
	if cert == nil || cert.Leaf == nil {
		return ""
	}
	return serviceOf(cert.Leaf.URIs)
}

// ServerConfig is every listener's TLS: 1.3 only, this service's current
// certificate, and, with a client CA, a valid client certificate required.
func (s *Store) ServerConfig() *tls.Config { return s.serverConfig(tls.RequireAndVerifyClientCert) }

// OptionalClientServerConfig is ServerConfig for an internal listener whose
// callers cannot all present a certificate (a kubelet's probes, a
// Prometheus without one): a certificate given is verified against the
// client CA, and none is accepted. It is for the admin listener only, whose
// answers (metrics, probes) carry no secret.
func (s *Store) OptionalClientServerConfig() *tls.Config {
	return s.serverConfig(tls.VerifyClientCertIfGiven)
}

func (s *Store) serverConfig(clientAuth tls.ClientAuthType) *tls.Config {
	base := &tls.Config{MinVersion: tls.VersionTLS13}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		cert, _, clientCA := s.current()
		c := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{*cert}}
		if clientCA != nil {
			c.ClientAuth, c.ClientCAs = clientAuth, clientCA
		}
		return c, nil
	}
	return base
}

// ClientConfig is every internal client's TLS: 1.3 only, the configured CA
// as the only root (the pin; none configured: the system's), and this
// service's current certificate presented when the server asks for one.
// The server's chain is verified against the CA in force when each
// connection is made, so a rotated CA file is picked up without a restart.
func (s *Store) ClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, _, _ := s.current()
			return cert, nil
		},
		// The standard verification runs in VerifyConnection instead, with
		// the roots of the moment; nothing is accepted unverified.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("TLS: the server presented no certificate")
			}
			_, roots, _ := s.current()
			opts := x509.VerifyOptions{Roots: roots, DNSName: cs.ServerName, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		},
	}
}

// Transport is an http.Transport that dials with ClientConfig, re-reading
// the pinned CA for each new connection.
func (s *Store) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = s.ClientConfig()
	return t
}

// SPIFFEPrefix starts the URI SAN of every Lattice service's certificate.
const SPIFFEPrefix = "spiffe://lattice/"

// ServiceOf is the Lattice service a verified client certificate names
// (its spiffe://lattice/<service> URI SAN), or "".
func ServiceOf(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	return serviceOf(r.TLS.PeerCertificates[0].URIs)
}

func serviceOf(uris []*url.URL) string {
	for _, u := range uris {
		if name, ok := strings.CutPrefix(u.String(), SPIFFEPrefix); ok && name != "" && !strings.Contains(name, "/") {
			return name
		}
	}
	return ""
}

type peerKey struct{}

// WithPeer is ctx carrying the Lattice service a request's verified client
// certificate names (ServiceOf), so code that sees only the context, such
// as a token verifier, can ask who is calling.
func WithPeer(ctx context.Context, service string) context.Context {
	return context.WithValue(ctx, peerKey{}, service)
}

// PeerOf is the service WithPeer put in ctx, or "".
func PeerOf(ctx context.Context) string {
	s, _ := ctx.Value(peerKey{}).(string)
	return s
}
