// Package domain holds the resource service's types and rules: resources
// (content with metadata), their versions, who may see and change them, and
// the files attached to them. It imports only the standard library and
// pkg/fault.
package domain
