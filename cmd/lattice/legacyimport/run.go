package legacyimport

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// Users is auth's import use case.
type Users interface {
	ImportUser(ctx context.Context, in app.ImportedUser, dryRun bool) (app.ImportOutcome, error)
}

// Options tune a run.
type Options struct {
	DryRun   bool      // check every row and report what would change; write nothing
	Progress io.Writer // where progress goes (nil: nowhere)
	Bar      bool      // a bar (Progress is a terminal), not lines
	Page     int       // rows read per query (default 1,000)
	Every    time.Duration
}

// Counts is a kind's report.
type Counts struct {
	Kind                               string
	Total, Created, Unchanged, Skipped int
	// Reasons lists, per reason a row was skipped, the legacy ids of the
	// first MaxListed such rows.
	Reasons   map[string][]string
	skippedBy map[string]int
}

// MaxListed bounds the legacy ids a report lists per reason.
const MaxListed = 20

func (c *Counts) skip(reason, legacyID string) {
	c.Skipped++
	if c.Reasons == nil {
		c.Reasons, c.skippedBy = map[string][]string{}, map[string]int{}
	}
	c.skippedBy[reason]++
	if len(c.Reasons[reason]) < MaxListed {
		c.Reasons[reason] = append(c.Reasons[reason], legacyID)
	}
}

// Write prints the report.
func (c *Counts) Write(w io.Writer, dryRun bool) {
	verb := "created"
	if dryRun {
		verb = "would create"
	}
	fmt.Fprintf(w, "%s: %d read, %d %s, %d unchanged, %d skipped\n", c.Kind, c.Total, c.Created, verb, c.Unchanged, c.Skipped)
	reasons := make([]string, 0, len(c.Reasons))
	for r := range c.Reasons {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  skipped, %s: %d (legacy ids %v)\n", r, c.skippedBy[r], c.Reasons[r])
	}
}

// ImportUsers reads the users table in key order and imports each row.
func ImportUsers(ctx context.Context, src *Source, m UsersMapping, users Users, opt Options) (Counts, error) {
	if opt.Page <= 0 {
		opt.Page = 1000
	}
	if opt.Every <= 0 {
		opt.Every = 2 * time.Second
	}
	c := Counts{Kind: "users"}
	total, err := src.countUsers(ctx, m)
	if err != nil {
		return c, fmt.Errorf("users: count: %w", err)
	}
	p := newProgress(opt, "users", total)
	// Emails this run has kept, so that a dry run, which writes nothing,
	// reports a second row with an email as the real run would.
	kept := map[string]bool{}
	var after any
	for {
		rows, err := src.users(ctx, m, after, opt.Page)
		if err != nil {
			return c, fmt.Errorf("users: read after %v: %w", after, err)
		}
		for _, r := range rows {
			in := app.ImportedUser{LegacyID: r.legacyID, Email: r.email, DisplayName: r.name, PasswordHash: r.hash, Admin: r.admin}
			if r.createdAt != nil {
				in.CreatedAt = *r.createdAt
			}
			email, _ := domain.NormalizeEmail(r.email)
			out := app.ImportOutcome{Result: app.Skipped, Reason: app.ReasonDuplicateEmail}
			if !kept[email] {
				if out, err = users.ImportUser(ctx, in, opt.DryRun); err != nil {
					return c, fmt.Errorf("users: legacy id %s: %w", r.legacyID, err)
				}
			}
			c.Total++
			switch out.Result {
			case app.Imported:
				c.Created++
				kept[email] = true
			case app.Unchanged:
				c.Unchanged++
				kept[email] = true
			default:
				c.skip(out.Reason, r.legacyID)
			}
			p.tick(c.Total)
		}
		if len(rows) < opt.Page {
			p.done(c.Total)
			return c, nil
		}
		after = rows[len(rows)-1].key
	}
}

// progress shows how far an import is: a bar in a terminal, otherwise a
// line at most every interval and one at the end.
type progress interface {
	tick(done int)
	done(n int)
}

func newProgress(opt Options, kind string, total int) progress {
	switch {
	case opt.Progress == nil:
		return (*lines)(nil)
	case opt.Bar:
		return bar{progressbar.NewOptions(total, progressbar.OptionSetWriter(opt.Progress), progressbar.OptionSetDescription(kind),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(opt.Progress) }))}
	}
	return &lines{w: opt.Progress, kind: kind, total: total, every: opt.Every, start: time.Now()}
}

type bar struct{ b *progressbar.ProgressBar }

func (b bar) tick(done int) { _ = b.b.Set(done) }
func (b bar) done(n int)    { _ = b.b.Set(n); _ = b.b.Finish() }

// lines writes a line at most every interval, and one at the end.
type lines struct {
	w           io.Writer
	kind        string
	total       int
	every       time.Duration
	start, last time.Time
}

func (p *lines) tick(done int) {
	if p == nil || p.w == nil || time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	p.line(done)
}

func (p *lines) done(n int) {
	if p != nil && p.w != nil {
		p.line(n)
	}
}

func (p *lines) line(done int) {
	pct := 100
	if p.total > 0 {
		pct = min(100, done*100/p.total)
	}
	rate := float64(done) / max(time.Since(p.start).Seconds(), 1e-3)
	fmt.Fprintf(p.w, "%s: %d/%d (%d%%), %.0f rows/s\n", p.kind, done, p.total, pct, rate)
}
