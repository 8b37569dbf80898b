package domain

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// Role is a user's standing on the platform.
type Role string

// The roles. Admins may manage users, clients and keys.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleUser || r == RoleAdmin }

// User is an account. PasswordHash is a PHC string and never leaves the
// service.
type User struct {
	ID           string
	Email        string
	DisplayName  string
	Role         Role
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Limits on account fields; the OpenAPI spec states the same numbers.
const (
	MaxEmailLen       = 254
	MinPasswordLen    = 12
	MaxPasswordLen    = 256
	MaxDisplayNameLen = 100
)

// Errors returned by account rules.
var (
	ErrEmailTaken         = fault.New(fault.Conflict, "an account with this email already exists")
	ErrInvalidCredentials = fault.New(fault.Unauthenticated, "email or password is incorrect")
	ErrUserNotFound       = fault.New(fault.NotFound, "user not found")
)

// NormalizeEmail trims and lower-cases an address and checks its form, so
// that "Ada@Example.com " and "ada@example.com" are one account. Lower-casing
// the local part is stricter than RFC 5321 but matches what users expect and
// what every mainstream provider does.
func NormalizeEmail(raw string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(raw))
	if e == "" {
		return "", fault.InvalidField("email", "is required")
	}
	if len(e) > MaxEmailLen {
		return "", fault.InvalidField("email", "is too long")
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || !strings.Contains(e[strings.LastIndexByte(e, '@'):], ".") {
		return "", fault.InvalidField("email", "is not a valid address")
	}
	return e, nil
}

// CheckPassword applies the password policy: length bounds only, following
// NIST SP 800-63B (no composition rules).
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLen:
		return fault.InvalidField("password", "must be at least 12 characters")
	case len(pw) > MaxPasswordLen:
		return fault.InvalidField("password", "must be at most 256 bytes")
	}
	return nil
}

// CleanDisplayName trims a display name and checks its length.
func CleanDisplayName(raw string) (string, error) {
	n := strings.TrimSpace(raw)
	switch {
	case n == "":
		return "", fault.InvalidField("display_name", "is required")
	case utf8.RuneCountInString(n) > MaxDisplayNameLen:
		return "", fault.InvalidField("display_name", "must be at most 100 characters")
	}
	return n, nil
}

// HashScheme names the scheme of an encoded password hash, for audit
// records that must not carry the hash: "argon2id", "pbkdf2-sha256", "2b"
// (bcrypt), Django's "pbkdf2_sha256", or "unknown".
func HashScheme(encoded string) string {
	if rest, ok := strings.CutPrefix(encoded, "$"); ok {
		if scheme, _, ok := strings.Cut(rest, "$"); ok && scheme != "" && len(scheme) <= 32 {
			return scheme
		}
	} else if scheme, _, ok := strings.Cut(encoded, "$"); ok && scheme != "" && len(scheme) <= 32 {
		return scheme
	}
	return "unknown"
}
