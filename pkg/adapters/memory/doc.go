// Package memory implements ports in process memory. They are the fakes
// that use-case tests run on, and they pass the same conformance suites as
// the real adapters. They are safe for concurrent use.
package memory
