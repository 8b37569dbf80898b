// Package portstest holds one conformance suite per port. Each adapter's
// tests run the suite for the ports it implements, so the memory fakes that
// use-case tests rely on behave exactly like the real stores.
package portstest

import (
	"time"

	"github.com/google/uuid"
)

// now is a realistic, microsecond-precision time: stores such as Redis apply
// real expiry, so the suites must not run in the distant past or future.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }
