// Package domain holds the auth service's types and rules: users and their
// credentials, sessions, principals and scopes. It imports only the standard
// library and Lattice's error taxonomy (pkg/fault), so the rules can be read
// and tested without any infrastructure.
package domain
