// Package porttest holds the conformance suites of the analytics service's own
// ports (declared in its app package). Each store adapter's tests run the
// suites for the ports it implements, and so do the service's fakes, so
// use-case tests run on fakes that behave exactly like the real stores.
package porttest

import (
	"time"

	"github.com/google/uuid"
)

// now is a realistic, microsecond-precision time: stores such as Redis apply
// real expiry, so the suites must not run in the distant past or future.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }
