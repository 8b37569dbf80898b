// Package jobs is the generated client and models of the processing service (jobs), from
// openapi/processing.yaml by `make generate` with the oapi-codegen the root
// module pins (run from the repository root, so that the SDK module does
// not depend on the generator). Nothing here is edited by hand; the
// lattice package wraps it with authentication, retries, problem errors
// and pagination.
package jobs

//go:generate go -C ../../.. tool oapi-codegen -config sdk/api/jobs/config.yaml openapi/processing.yaml
