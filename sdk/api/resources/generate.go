// Package resources is the generated client and models of the resource service (resources, versions, files), from
// openapi/resource.yaml by `make generate` with the oapi-codegen the root
// module pins (run from the repository root, so that the SDK module does
// not depend on the generator). Nothing here is edited by hand; the
// lattice package wraps it with authentication, retries, problem errors
// and pagination.
package resources

//go:generate go -C ../../.. tool oapi-codegen -config sdk/api/resources/config.yaml openapi/resource.yaml
