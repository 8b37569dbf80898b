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

func ident(name string) string { return pgx.Identifier(strings.Split(name, ".")).Sanitize() }

// orNull is the column as expr, or NULL of sqlType when the mapping does
// not name it.
func orNull(column, sqlType string, expr func(string) string) string {
	if column == "" {
		return "NULL::" + sqlType
	}
	return expr(ident(column))
}

func text(col string) string { return "coalesce(" + col + "::text, '')" }

// count is how many rows table holds.
func (s *Source) count(ctx context.Context, table string) (int, error) {
	var n int
	err := s.conn.QueryRow(ctx, "SELECT count(*) FROM "+ident(table)).Scan(&n)
	return n, err
}

// page reads up to limit rows of table in key order after the key given
// (nil: from the first). Each row starts with the key's own value, for
// the next page, and its text, the legacy id; exprs follow.
func page[T any](ctx context.Context, s *Source, table, key string, exprs []string, after any, limit int, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	k := ident(key)
	q := "SELECT " + k + ", " + k + "::text, " + strings.Join(exprs, ", ") + " FROM " + ident(table)
	args := []any{limit}
	if after != nil {
		q += " WHERE " + k + " > $2"
		args = append(args, after)
	}
	rows, err := s.conn.Query(ctx, q+" ORDER BY 1 LIMIT $1", args...) // 1: the key (named twice, so not by name)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

// userRow is one source user, every text column as text.
type userRow struct {
	key                         any // the key's own value, for the next page
	legacyID, email, name, hash string
	admin                       bool
	createdAt                   *time.Time
}

func (s *Source) users(ctx context.Context, m UsersMapping, after any, limit int) ([]userRow, error) {
	exprs := []string{text(ident(m.Email)), text(ident(m.DisplayName)), text(ident(m.PasswordHash)),
		orNull(m.Admin, "bool", func(c string) string { return "coalesce(" + c + ", false)::bool" }),
		orNull(m.CreatedAt, "timestamptz", func(c string) string { return c + "::timestamptz" })}
	return page(ctx, s, m.Table, m.Key, exprs, after, limit, func(r pgx.CollectableRow) (userRow, error) {
		var u userRow
		var admin *bool
		err := r.Scan(&u.key, &u.legacyID, &u.email, &u.name, &u.hash, &admin, &u.createdAt)
		u.admin = admin != nil && *admin
		return u, err
	})
}

// resourceRow is one source resource. Metadata and tags come as JSON
// text, whatever their column's type.
type resourceRow struct {
	key                               any
	legacyID, owner, title, body, vis string
	metadata, tags                    *string
	createdAt, updatedAt              *time.Time
}

func (s *Source) resources(ctx context.Context, m ResourcesMapping, after any, limit int) ([]resourceRow, error) {
	asText := func(c string) string { return text(c) }
	asJSON := func(c string) string { return "to_jsonb(" + c + ")::text" }
	asTime := func(c string) string { return c + "::timestamptz" }
	exprs := []string{text(ident(m.Owner)), text(ident(m.Title)), orNull(m.Body, "text", asText), orNull(m.Visibility, "text", asText),
		orNull(m.Metadata, "text", asJSON), orNull(m.Tags, "text", asJSON), orNull(m.CreatedAt, "timestamptz", asTime), orNull(m.UpdatedAt, "timestamptz", asTime)}
	return page(ctx, s, m.Table, m.Key, exprs, after, limit, func(r pgx.CollectableRow) (resourceRow, error) {
		var x resourceRow
		var body, vis *string
		err := r.Scan(&x.key, &x.legacyID, &x.owner, &x.title, &body, &vis, &x.metadata, &x.tags, &x.createdAt, &x.updatedAt)
		if body != nil {
			x.body = *body
		}
		if vis != nil {
			x.vis = *vis
		}
		return x, err
	})
}

// fileRow is one source file row.
type fileRow struct {
	key                                  any
	legacyID, resource, name, path, hash string
}

func (s *Source) files(ctx context.Context, m FilesMapping, after any, limit int) ([]fileRow, error) {
	exprs := []string{text(ident(m.Resource)), text(ident(m.Name)), text(ident(m.Path)), text(ident(m.SHA256))}
	return page(ctx, s, m.Table, m.Key, exprs, after, limit, func(r pgx.CollectableRow) (fileRow, error) {
		var f fileRow
		err := r.Scan(&f.key, &f.legacyID, &f.resource, &f.name, &f.path, &f.hash)
		return f, err
	})
}
