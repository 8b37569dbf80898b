// Package resourceclient is a typed client for the resource service's GET /v1/resources/{id}, generated from
// openapi/resource.yaml by `make generate` (that operation only), so the
// gateway calls the service through its contract without importing the
// service's packages. Nothing here is edited by hand.
package resourceclient

//go:generate go tool oapi-codegen -config config.yaml ../../../../openapi/resource.yaml
