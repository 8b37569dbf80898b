// Package observe holds what every service uses to be observable: JSON logs
// that carry request and trace ids, Prometheus HTTP metrics per route, and
// OpenTelemetry tracing that exports over OTLP only when configured.
package observe
