// Package clickhouse implements the analytics store ports (usage and the
// audit log) on ClickHouse through its documented HTTP interface.
//
// The official driver (clickhouse-go/v2) needs a recent server: against
// ClickHouse 18.16, the only release Debian packages for these machines,
// its native inserts fail and its HTTP transport fails its hello query.
// The HTTP interface is stable across all releases, so this adapter speaks
// it directly: SQL in the request body or the query parameter, rows in
// JSONEachRow both ways, settings as URL parameters, credentials in a
// Basic authorization header (never in the URL). Its SQL is kept to what
// both 18.16 and current ClickHouse accept: no DateTime64, TTL, Map/JSON
// types, window functions or query parameters, so values are inlined
// through quote, which escapes every string.
package clickhouse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// Client talks to one database of a ClickHouse server over HTTP.
type Client struct {
	endpoint       string // scheme://host:port/, no credentials
	database       string
	user, password string
	http           *http.Client
	// InsertMaxRows splits large inserts (default 100,000 rows), so one
	// request body stays a bounded size.
	InsertMaxRows int
}

// databaseName keeps the database a plain identifier: it is inlined in
// CREATE DATABASE and passed as a setting.
var databaseName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// New returns a client for rawURL, http(s)://[user[:password]@]host:port/database
// (database default "lattice_analytics"). It does not connect.
func New(rawURL string) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// url.Parse errors echo the URL, password included.
		return nil, errors.New("clickhouse: the URL must be http(s)://[user[:password]@]host:port/database")
	}
	c := &Client{endpoint: u.Scheme + "://" + u.Host + "/", database: strings.Trim(u.Path, "/"),
		http: &http.Client{Timeout: 5 * time.Minute}, InsertMaxRows: 100_000}
	if c.database == "" {
		c.database = "lattice_analytics"
	}
	if !databaseName.MatchString(c.database) {
		return nil, fmt.Errorf("clickhouse: database name %q is not a plain identifier", c.database)
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.password, _ = u.User.Password()
	}
	return c, nil
}

// Database is the database the client uses.
func (c *Client) Database() string { return c.database }

// Ping checks the server answers and the database exists.
func (c *Client) Ping(ctx context.Context) error {
	var n []struct {
		One int `json:"one"`
	}
	return query(ctx, c, "SELECT 1 AS one", &n)
}

// do sends one statement. body, when not nil, is the data of an INSERT
// named in the query; otherwise the statement is the body.
func (c *Client) do(ctx context.Context, stmt string, body io.Reader, withDB bool) (io.ReadCloser, error) {
	params := url.Values{}
	if withDB {
		params.Set("database", c.database)
	}
	// Settings travel as URL parameters: 64-bit numbers come back as JSON
	// numbers, not strings. (Times need no setting: the columns are
	// DateTime('UTC') and read back as Unix seconds.)
	params.Set("output_format_json_quote_64bit_integers", "0")
	if body == nil {
		body = strings.NewReader(stmt)
	} else {
		params.Set("query", stmt)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"?"+params.Encode(), body)
	if err != nil {
		return nil, err
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL carries the statement; keep errors short
		}
		return nil, fault.Wrap(fault.Unavailable, "the analytics store (ClickHouse) is unreachable", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		resp.Body.Close()
		return nil, fmt.Errorf("clickhouse: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp.Body, nil
}

// exec runs a statement that returns no rows.
func (c *Client) exec(ctx context.Context, stmt string) error {
	return c.execIn(ctx, stmt, true)
}

func (c *Client) execIn(ctx context.Context, stmt string, withDB bool) error {
	rc, err := c.do(ctx, stmt, nil, withDB)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, rc)
	return rc.Close()
}

// query runs a SELECT and decodes its JSONEachRow rows into *dst, a
// pointer to a slice of structs tagged with the column names.
func query[T any](ctx context.Context, c *Client, stmt string, dst *[]T) error {
	rc, err := c.do(ctx, stmt+" FORMAT JSONEachRow", nil, true)
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(rc, 64<<10))
	for {
		var row T
		if err := dec.Decode(&row); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("clickhouse: read rows: %w", err)
		}
		*dst = append(*dst, row)
	}
}

// insert writes rows to table as JSONEachRow, InsertMaxRows per request.
// One request of up to a million rows is one block, which a MergeTree
// table stores atomically together with what its materialised views make
// of it.
func insert[T any](ctx context.Context, c *Client, table string, rows []T) error {
	for chunk := range slices.Chunk(rows, max(c.InsertMaxRows, 1)) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for _, r := range chunk {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		rc, err := c.do(ctx, "INSERT INTO "+table+" FORMAT JSONEachRow", &buf, true)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, rc)
		rc.Close()
	}
	return nil
}

// quote makes s a ClickHouse string literal.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// quoteList is quote over a list, comma-separated.
func quoteList(ss []string) string {
	var b strings.Builder
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(s))
	}
	return b.String()
}

// Migrate creates the database if needed and applies, in file order, the
// schema files in dir of files not applied before. Every statement is
// idempotent (IF NOT EXISTS), so a migration cut short is safely re-run.
func (c *Client) Migrate(ctx context.Context, files fs.FS, dir string) error {
	if err := c.execIn(ctx, "CREATE DATABASE IF NOT EXISTS "+c.database, false); err != nil {
		return fmt.Errorf("clickhouse: create database: %w", err)
	}
	if err := c.exec(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version String, applied_at DateTime('UTC')) ENGINE = TinyLog"); err != nil {
		return fmt.Errorf("clickhouse: migrations table: %w", err)
	}
	var applied []struct {
		Version string `json:"version"`
	}
	if err := query(ctx, c, "SELECT version FROM schema_migrations", &applied); err != nil {
		return err
	}
	done := map[string]bool{}
	for _, a := range applied {
		done[a.Version] = true
	}
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return fmt.Errorf("clickhouse: read schema: %w", err)
	}
	for _, e := range entries { // ReadDir sorts by name
		if done[e.Name()] || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		text, err := fs.ReadFile(files, dir+"/"+e.Name())
		if err != nil {
			return err
		}
		for _, stmt := range statements(string(text)) {
			if err := c.exec(ctx, stmt); err != nil {
				return fmt.Errorf("clickhouse: migration %s: %w", e.Name(), err)
			}
		}
		if err := c.exec(ctx, "INSERT INTO schema_migrations VALUES ("+quote(e.Name())+", now())"); err != nil {
			return err
		}
	}
	return nil
}

// statements splits a schema file into statements, dropping comment lines.
func statements(text string) []string {
	var kept []string
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			kept = append(kept, line)
		}
	}
	var out []string
	for stmt := range strings.SplitSeq(strings.Join(kept, "\n"), ";") {
		if s := strings.TrimSpace(stmt); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// waitMutations waits until ALTER … DELETE mutations of table finish:
// ClickHouse 18.16 runs them asynchronously and has no mutations_sync.
func (c *Client) waitMutations(ctx context.Context, table string) error {
	for {
		var pending []struct {
			N uint64 `json:"n"`
		}
		if err := query(ctx, c, "SELECT count() AS n FROM system.mutations WHERE database = "+quote(c.database)+
			" AND table = "+quote(table)+" AND is_done = 0", &pending); err != nil {
			return err
		}
		if len(pending) == 0 || pending[0].N == 0 {
			return nil
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// seconds renders t as whole Unix seconds, rounded up, for comparing with
// whole-second DateTime columns: bucket >= t holds exactly when the bucket's
// second is at least ceil(t).
func seconds(t time.Time) string {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return "toDateTime(" + strconv.FormatInt(max(s, 0), 10) + ")"
}

// day renders t's UTC date.
func day(t time.Time) string { return "toDate(" + quote(t.UTC().Format(time.DateOnly)) + ")" }
