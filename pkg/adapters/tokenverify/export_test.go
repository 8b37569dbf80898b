package tokenverify

import "time"

// SetIntrospectorClock replaces the clock that an introspector's answers
// are timed by; the cache's own expiry keeps the real one.
func SetIntrospectorClock(in *Introspector, now func() time.Time) { in.now = now }

// JWSSignature is jwsSignature, for its table test.
var JWSSignature = jwsSignature
