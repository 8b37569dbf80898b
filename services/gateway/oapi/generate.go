// Package oapi is the gateway's generated transport for the endpoints it
// answers itself (the composites): models, a strict chi server interface
// and the embedded spec, produced from openapi/gateway.yaml by `make
// generate`. Nothing here is edited by hand.
package oapi

//go:generate go tool oapi-codegen -config config.yaml ../../../openapi/gateway.yaml
