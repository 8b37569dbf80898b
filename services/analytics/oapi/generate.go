// Package oapi is the analytics service's generated transport: models, a
// strict chi server interface, a typed client and the embedded spec, all
// produced from openapi/analytics.yaml by `make generate`. Nothing here is
// edited by hand.
package oapi

//go:generate go tool oapi-codegen -config config.yaml ../../../openapi/analytics.yaml
