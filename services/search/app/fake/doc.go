// Package fake holds in-memory implementations of the search service's own
// ports, for its use-case tests. Each passes the same conformance suite
// (../porttest) as the real store, so a test on fakes means what it says.
// Nothing in the lattice binary imports it; the architecture test checks.
// They are safe for concurrent use.
package fake
