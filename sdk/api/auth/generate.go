// Package auth is the generated client and models of the auth service (users, sessions, API keys, OAuth clients), from
// openapi/auth.yaml by `make generate` with the oapi-codegen the root
// module pins (run from the repository root, so that the SDK module does
// not depend on the generator). Nothing here is edited by hand; the
// lattice package wraps it with authentication, retries, problem errors
// and pagination.
package auth

//go:generate go -C ../../.. tool oapi-codegen -config sdk/api/auth/config.yaml openapi/auth.yaml
