package lattice

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Problem is an answer of the platform outside 2xx: RFC 9457 problem
// details (or an OAuth endpoint's RFC 6749 error object, mapped onto them;
// for a body that is neither, the status and its text).
// Branch on Type or Status, not on Detail.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// RequestID matches the X-Request-ID header and the services' logs;
	// quote it when reporting a problem.
	RequestID string `json:"request_id,omitempty"`
	// Errors maps fields to what is wrong with them (type .../invalid).
	Errors map[string]string `json:"errors,omitempty"`
	// RetryAfter is the wait the answer's Retry-After asked for, if any.
	RetryAfter time.Duration `json:"-"`
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString("lattice: ")
	b.WriteString(strconv.Itoa(p.Status))
	if p.Title != "" {
		b.WriteString(" ")
		b.WriteString(p.Title)
	}
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	if p.RequestID != "" {
		b.WriteString(" (request ")
		b.WriteString(p.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// maxProblemBytes bounds how much of an error answer is read: a problem
// document is small, and a misbehaving server must not make the client
// buffer without end.
const maxProblemBytes = 64 << 10

// problemOf reads an error answer into a Problem and closes its body.
// Whatever the body holds, the status and request id are kept.
func problemOf(resp *http.Response) *Problem {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxProblemBytes))
	p := &Problem{}
	var oauth struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(raw, p) != nil || p.Title == "" && p.Type == "" {
		if json.Unmarshal(raw, &oauth) == nil && oauth.Error != "" {
			p.Type, p.Title, p.Detail = "urn:ietf:params:oauth:error:"+oauth.Error, oauth.Error, oauth.Description
		}
	}
	p.Status = resp.StatusCode
	if p.Title == "" {
		p.Title = http.StatusText(resp.StatusCode)
	}
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if id := resp.Header.Get("X-Request-Id"); id != "" && p.RequestID == "" {
		p.RequestID = id
	}
	p.RetryAfter, _ = retryAfter(resp.Header)
	return p
}

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// StatusOf returns the HTTP status of err's Problem, or 0 when err is not
// (or does not wrap) a Problem.
func StatusOf(err error) int {
	if p, ok := errors.AsType[*Problem](err); ok {
		return p.Status
	}
	return 0
}

// IsNotFound reports whether err is a 404: no such thing, or not yours.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsConflict reports whether err says the call conflicts with the current
// state: 409 (a duplicate, an Idempotency-Key in use) or 412 (If-Match did
// not match: someone else changed the resource first).
func IsConflict(err error) bool {
	s := StatusOf(err)
	return s == http.StatusConflict || s == http.StatusPreconditionFailed
}

// IsRateLimited reports whether err is a 429; the Problem's RetryAfter
// says when to try again.
func IsRateLimited(err error) bool { return StatusOf(err) == http.StatusTooManyRequests }

// IsUnauthenticated reports whether err is a 401: no valid credential.
func IsUnauthenticated(err error) bool { return StatusOf(err) == http.StatusUnauthorized }

// IsForbidden reports whether err is a 403: a valid credential without
// the scope or role the call needs.
func IsForbidden(err error) bool { return StatusOf(err) == http.StatusForbidden }
