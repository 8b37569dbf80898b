// Package analytics is the generated client and models of the analytics service (usage and audit), from
// openapi/analytics.yaml by `make generate` with the oapi-codegen the root
// module pins (run from the repository root, so that the SDK module does
// not depend on the generator). Nothing here is edited by hand; the
// lattice package wraps it with authentication, retries, problem errors
// and pagination.
package analytics

//go:generate go -C ../../.. tool oapi-codegen -config sdk/api/analytics/config.yaml openapi/analytics.yaml
