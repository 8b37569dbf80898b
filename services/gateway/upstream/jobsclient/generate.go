// Package jobsclient is a typed client for the processing service's GET /v1/jobs, generated from
// openapi/processing.yaml by `make generate` (that operation only), so the
// gateway calls the service through its contract without importing the
// service's packages. Nothing here is edited by hand.
package jobsclient

//go:generate go tool oapi-codegen -config config.yaml ../../../../openapi/processing.yaml
