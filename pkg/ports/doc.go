// Package ports declares the interfaces Lattice's service cores depend on,
// one file per capability and in domain terms. Adapters in pkg/adapters
// implement them; every implementation of a port passes the same conformance
// suite in pkg/ports/portstest, so the in-memory fakes stay honest.
package ports
