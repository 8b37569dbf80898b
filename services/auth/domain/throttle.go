package domain

import (
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// FailureCount is what a throttle remembers of one key: failed logins since
// the count last started over, and when the latest happened.
type FailureCount struct {
	Failures int
	Last     time.Time
}

// ThrottlePolicy turns a key's failures into a wait. The first Free-1
// failures cost nothing; the Free-th makes the next attempt wait Base, and
// each further failure doubles that, up to Max. A count whose latest
// failure is older than Window is forgotten. With Base == Max the policy is
// a plain lock of Base after Free failures.
type ThrottlePolicy struct {
	Window    time.Duration
	Free      int
	Base, Max time.Duration
}

// Live is c as seen at now: zero once its latest failure is past Window.
func (p ThrottlePolicy) Live(c FailureCount, now time.Time) FailureCount {
	if c.Failures == 0 || now.Sub(c.Last) > p.Window {
		return FailureCount{}
	}
	return c
}

// WaitUntil is the earliest time a new attempt under c is heard, or the
// zero time when c costs no wait.
func (p ThrottlePolicy) WaitUntil(c FailureCount) time.Time {
	if c.Failures < p.Free || p.Free <= 0 {
		return time.Time{}
	}
	wait := p.Base
	for i := p.Free; i < c.Failures && wait < p.Max; i++ {
		wait *= 2
	}
	return c.Last.Add(min(wait, p.Max))
}

// LoginThrottle is the brute-force policy for password logins. It never
// becomes a lock that an outsider can hold over someone else's login:
//   - Pair counts failures of one address on one account and locks that
//     pair alone, as the brute-force protection of mature identity providers
//     does: an attacker locks only itself out of the victim's account.
//   - Address counts an address's failures on any account and slows it down
//     with a growing, bounded wait.
//   - Account counts failures on one account from any address. It slows
//     down addresses that have been failing, and only delays, by at most
//     CleanDelay, an address that has not: the account's owner, at home,
//     always gets in with the right password.
type LoginThrottle struct {
	Pair, Address, Account ThrottlePolicy
	CleanDelay             time.Duration
}

// DefaultLoginThrottle is the shipped policy.
var DefaultLoginThrottle = LoginThrottle{
	Pair:       ThrottlePolicy{Window: 15 * time.Minute, Free: 5, Base: 15 * time.Minute, Max: 15 * time.Minute},
	Address:    ThrottlePolicy{Window: 15 * time.Minute, Free: 10, Base: time.Second, Max: 5 * time.Minute},
	Account:    ThrottlePolicy{Window: 15 * time.Minute, Free: 10, Base: time.Second, Max: time.Minute},
	CleanDelay: time.Second,
}

// LoginCounts are the three counters one attempt is judged by.
type LoginCounts struct {
	Pair, Address, Account FailureCount
}

// Admission is the throttle's answer to an attempt: refuse it until
// RefuseUntil, or check it after waiting Delay.
type Admission struct {
	RefuseUntil time.Time
	Delay       time.Duration
}

// Admit judges an attempt at now by the counters it would add to.
func (t LoginThrottle) Admit(c LoginCounts, now time.Time) Admission {
	pair, addr, acct := t.Pair.Live(c.Pair, now), t.Address.Live(c.Address, now), t.Account.Live(c.Account, now)
	for _, until := range []time.Time{t.Pair.WaitUntil(pair), t.Address.WaitUntil(addr)} {
		if until.After(now) {
			return Admission{RefuseUntil: until}
		}
	}
	until := t.Account.WaitUntil(acct)
	if !until.After(now) {
		return Admission{}
	}
	if addr.Failures > 0 || pair.Failures > 0 {
		return Admission{RefuseUntil: until}
	}
	return Admission{Delay: min(until.Sub(now), t.CleanDelay)}
}

// ErrLockedOut builds the error for a refused attempt, with the time to
// wait.
func ErrLockedOut(until, now time.Time) error {
	secs := int(until.Sub(now).Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	return &fault.Error{Kind: fault.RateLimited, Message: "too many failed logins; try again later", RetryAfterSeconds: secs}
}
