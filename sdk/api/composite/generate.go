// Package composite is the generated client and models of the gateway's own operations (composites, migration routes), from
// openapi/gateway.yaml by `make generate` with the oapi-codegen the root
// module pins (run from the repository root, so that the SDK module does
// not depend on the generator). Nothing here is edited by hand; the
// lattice package wraps it with authentication, retries, problem errors
// and pagination.
package composite

//go:generate go -C ../../.. tool oapi-codegen -config sdk/api/composite/config.yaml openapi/gateway.yaml
