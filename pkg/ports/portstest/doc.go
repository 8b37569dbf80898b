// Package portstest holds the conformance suites of the ports several
// services share (blobs, rate limiting). A service's own ports have their
// suites beside them, in services/<svc>/app/porttest.
package portstest
