package app

import (
	"context"
	"encoding/base64"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// SignUpInput is what a new user submits.
type SignUpInput struct {
	Email, Password, DisplayName string
}

// SignUp creates an account with the user role.
func (s *Accounts) SignUp(ctx context.Context, in SignUpInput) (domain.User, error) {
	return s.createUser(ctx, in, domain.RoleUser, "user.signed_up")
}

// CreateAdmin creates an account with the admin role; it is for the
// operator's CLI, not the public API.
func (s *Accounts) CreateAdmin(ctx context.Context, in SignUpInput) (domain.User, error) {
	return s.createUser(ctx, in, domain.RoleAdmin, "user.created")
}

func (s *Accounts) createUser(ctx context.Context, in SignUpInput, role domain.Role, action string) (domain.User, error) {
	email, err := domain.NormalizeEmail(in.Email)
	if err != nil {
		return domain.User{}, err
	}
	name, err := domain.CleanDisplayName(in.DisplayName)
	if err != nil {
		return domain.User{}, err
	}
	if err := domain.CheckPassword(in.Password); err != nil {
		return domain.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return domain.User{}, err
	}
	now := s.clock.Now()
	u := domain.User{ID: newID(), Email: email, DisplayName: name, Role: role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	actor := u.ID // signing up is the new user's own act
	if action != "user.signed_up" {
		actor = actorOperator
	}
	err = s.rec.audited(ctx, audit{actor: actor, action: action, target: "user/" + u.ID, details: map[string]any{"role": string(role)}},
		func(ctx context.Context) error { return s.users.Create(ctx, u) })
	if err != nil {
		return domain.User{}, err
	}
	return u, nil
}

// Me returns the principal's own account.
func (s *Accounts) Me(ctx context.Context, p domain.Principal) (domain.User, error) {
	if p.UserID == "" {
		return domain.User{}, errNoUser
	}
	return s.users.ByID(ctx, p.UserID)
}

// UserPage is one page of a user listing.
type UserPage struct {
	Users      []domain.User
	NextCursor string
}

// ListUsers pages through every account; it needs users:admin.
func (s *Accounts) ListUsers(ctx context.Context, p domain.Principal, cursor string, limit int) (UserPage, error) {
	if err := p.Require(domain.ScopeUsersAdmin); err != nil {
		return UserPage{}, err
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return UserPage{}, err
	}
	// Fetch one extra row to learn whether another page exists without a
	// second query.
	users, err := s.users.List(ctx, after, limit+1)
	if err != nil {
		return UserPage{}, err
	}
	page := UserPage{Users: users}
	if len(users) > limit {
		page.Users = users[:limit]
		page.NextCursor = encodeCursor(users[limit-1].ID)
	}
	return page, nil
}

// Cursors are opaque to clients; today they wrap the last id seen.
func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", fault.InvalidField("cursor", "is not a cursor this API issued")
	}
	if _, err := uuid.Parse(string(b)); err != nil {
		return "", fault.InvalidField("cursor", "is not a cursor this API issued")
	}
	return string(b), nil
}
