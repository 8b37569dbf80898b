// Package fault is Lattice's error taxonomy: a small set of kinds that every
// layer speaks, so that one table at the HTTP edge can turn any error into the
// right status code without knowing which package produced it.
//
// It depends only on the standard library, which is why domain packages (which
// otherwise import nothing but the standard library) may use it.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind uint8

// The kinds. Internal is the zero value so that an unclassified error is
// never mistaken for a client mistake.
const (
	Internal           Kind = iota // a bug or an unexpected failure; details stay in logs
	Invalid                        // the input is malformed or breaks a rule
	NotFound                       // the thing does not exist (or the caller may not know it does)
	Conflict                       // the request clashes with current state (duplicate, version)
	PreconditionFailed             // If-Match and friends did not hold
	PreconditionNeeded             // a conditional header is required but absent
	Unauthenticated                // no valid credentials
	Forbidden                      // valid credentials, not allowed
	RateLimited                    // too many requests; retry later
	Unavailable                    // a dependency is down; retry later
	TooLarge                       // the body is over its cap
	UnsupportedMedia               // the body's content type is not accepted
	MethodNotAllowed               // the path exists, the method does not
	Unprocessable                  // well-formed but cannot be processed (e.g. an Idempotency-Key reused with another body)
	BadGateway                     // an upstream failed or could not be reached
	GatewayTimeout                 // an upstream did not answer in time
)

var kindNames = [...]string{
	Internal:           "internal",
	Invalid:            "invalid",
	NotFound:           "not-found",
	Conflict:           "conflict",
	PreconditionFailed: "precondition-failed",
	PreconditionNeeded: "precondition-required",
	Unauthenticated:    "unauthenticated",
	Forbidden:          "forbidden",
	RateLimited:        "rate-limited",
	Unavailable:        "unavailable",
	TooLarge:           "too-large",
	UnsupportedMedia:   "unsupported-media-type",
	MethodNotAllowed:   "method-not-allowed",
	Unprocessable:      "unprocessable",
	BadGateway:         "bad-gateway",
	GatewayTimeout:     "gateway-timeout",
}

// String returns the kind's stable slug; problem type URIs are built from it.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error is a classified error. Message is safe to show to a client; Err, if
// set, is the underlying cause and is only ever logged.
type Error struct {
	Kind    Kind
	Message string
	// Fields names input fields at fault, for Invalid errors.
	Fields map[string]string
	// RetryAfterSeconds is a hint for RateLimited and Unavailable errors.
	RetryAfterSeconds int
	Err               error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &fault.Error{Kind: k}) match any error of kind k,
// and lets sentinel errors declared with New compare by identity.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t == e || (t.Message == "" && t.Kind == e.Kind)
}

// New returns a classified error with a client-safe message.
func New(kind Kind, msg string) *Error { return &Error{Kind: kind, Message: msg} }

// Wrap classifies cause; msg is client-safe, cause is not shown to clients.
func Wrap(kind Kind, msg string, cause error) *Error {
	return &Error{Kind: kind, Message: msg, Err: cause}
}

// InvalidField reports one bad input field.
func InvalidField(field, reason string) *Error {
	return &Error{Kind: Invalid, Message: "invalid " + field + ": " + reason, Fields: map[string]string{field: reason}}
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return Internal
}

// Of reports whether err carries kind k.
func Of(err error, k Kind) bool { return err != nil && KindOf(err) == k }
