package tlsfiles

import (
	"crypto/x509"
	"encoding/pem"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// ExpiryMetrics is a Prometheus collector of when the certificates in use
// expire: the process's own (kind="serving") and its CA's (kind="ca"), as
// Unix times, read at each scrape so a rotation shows at once. Alerts
// compare them with time() (docs/operations.md: within 14 days).
type ExpiryMetrics struct {
	store *Store
	desc  *prometheus.Desc
}

var _ prometheus.Collector = ExpiryMetrics{}

// Metrics returns the store's expiry collector.
func (s *Store) Metrics() ExpiryMetrics {
	return ExpiryMetrics{store: s, desc: prometheus.NewDesc("lattice_tls_certificate_expiry_timestamp_seconds",
		"When a certificate in use expires (Unix time): the process's own (kind=serving) and the first of its CA file (kind=ca).",
		[]string{"kind"}, nil)}
}

// Describe sends the descriptor.
func (m ExpiryMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.desc }

// Collect reports the leaf certificate in use and the CA file's first.
func (m ExpiryMetrics) Collect(ch chan<- prometheus.Metric) {
	cert, _, _ := m.store.current()
	if cert != nil {
		leaf := cert.Leaf
		if leaf == nil && len(cert.Certificate) > 0 {
			leaf, _ = x509.ParseCertificate(cert.Certificate[0])
		}
		if leaf != nil {
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, float64(leaf.NotAfter.Unix()), "serving")
		}
	}
	if m.store.files.CA == "" {
		return
	}
	if ca, err := firstCertificate(m.store.files.CA); err == nil {
		ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, float64(ca.NotAfter.Unix()), "ca")
	}
}

// firstCertificate parses the first certificate of a PEM file, read within
// MaxFile.
func firstCertificate(path string) (*x509.Certificate, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no certificate")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}
