// Package usageclient is a typed client for the analytics service's GET /v1/analytics/resources/{id}, generated from
// openapi/analytics.yaml by `make generate` (that operation only), so the
// gateway calls the service through its contract without importing the
// service's packages. Nothing here is edited by hand.
package usageclient

//go:generate go tool oapi-codegen -config config.yaml ../../../../openapi/analytics.yaml
