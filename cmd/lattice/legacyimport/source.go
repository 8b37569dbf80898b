package legacyimport

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Source is the other system's PostgreSQL database, opened so that
// nothing this process does can write to it.
type Source struct{ conn *pgx.Conn }

// OpenSource connects to url with every transaction read-only.
func OpenSource(ctx context.Context, url string) (*Source, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("source: the URL does not parse") // the URL may hold a password: not repeated
	}
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("source: connect to %s:%d: %w", cfg.Host, cfg.Port, errWithoutSecrets(err, cfg.Password))
	}
	return &Source{conn: conn}, nil
}

// errWithoutSecrets is err, unless its text holds the password.
func errWithoutSecrets(err error, password string) error {
	if password != "" && strings.Contains(err.Error(), password) {
		return fmt.Errorf("connection failed")
	}
	return err
}

// Close closes the connection.
func (s *Source) Close(ctx context.Context) error { return s.conn.Close(ctx) }

// userRow is one source user, every text column as text.
type userRow struct {
	key                         any // the key's own value, for the next page
	legacyID, email, name, hash string
	admin                       bool
	createdAt                   *time.Time
}

func ident(name string) string { return pgx.Identifier(strings.Split(name, ".")).Sanitize() }

// countUsers is how many rows the users table holds.
func (s *Source) countUsers(ctx context.Context, m UsersMapping) (int, error) {
	var n int
	err := s.conn.QueryRow(ctx, "SELECT count(*) FROM "+ident(m.Table)).Scan(&n)
	return n, err
}

// users reads up to limit rows in key order, after the key given (nil:
// from the first).
func (s *Source) users(ctx context.Context, m UsersMapping, after any, limit int) ([]userRow, error) {
	admin, created := "false", "NULL::timestamptz"
	if m.Admin != "" {
		admin = "coalesce(" + ident(m.Admin) + ", false)"
	}
	if m.CreatedAt != "" {
		created = ident(m.CreatedAt) + "::timestamptz"
	}
	key := ident(m.Key)
	q := "SELECT " + key + ", " + key + "::text, coalesce(" + ident(m.Email) + "::text, ''), coalesce(" + ident(m.DisplayName) +
		"::text, ''), coalesce(" + ident(m.PasswordHash) + "::text, ''), " + admin + "::bool, " + created + " FROM " + ident(m.Table)
	args := []any{limit}
	if after != nil {
		q += " WHERE " + key + " > $2"
		args = append(args, after)
	}
	rows, err := s.conn.Query(ctx, q+" ORDER BY 1 LIMIT $1", args...) // 1: the key (named twice, so not by name)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (userRow, error) {
		var u userRow
		err := r.Scan(&u.key, &u.legacyID, &u.email, &u.name, &u.hash, &u.admin, &u.createdAt)
		return u, err
	})
}
