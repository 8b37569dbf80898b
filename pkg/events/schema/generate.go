// Package schema holds the Go models of every event payload, generated from
// openapi/events.yaml by `make generate`. Producers and consumers share
// them; nothing here is edited by hand.
package schema

//go:generate go tool oapi-codegen -config config.yaml ../../../openapi/events.yaml
