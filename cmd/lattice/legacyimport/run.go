package legacyimport

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
	resapp "github.com/lattice-platform/lattice/services/resource/app"
)

// Users is auth's side of an import.
type Users interface {
	ImportUser(ctx context.Context, in app.ImportedUser, dryRun bool) (app.ImportOutcome, error)
	ImportedUserID(ctx context.Context, legacyID string) (string, error)
}

// Resources is the resource service's side of an import.
type Resources interface {
	ImportResources(ctx context.Context, rows []resapp.ImportedResource, dryRun bool) ([]resapp.ImportOutcome, error)
	ImportFile(ctx context.Context, in resapp.ImportedFile, dryRun bool) (resapp.ImportOutcome, error)
	ImportedIDs(ctx context.Context, kind string, legacyIDs []string) (map[string]string, error)
	RecordLegacyUser(ctx context.Context, legacyID, userID string) error
}

// Options tune a run.
type Options struct {
	DryRun   bool      // check every row and report what would change; write nothing
	Progress io.Writer // where progress goes (nil: nowhere)
	Bar      bool      // a bar (Progress is a terminal), not lines
	Page     int       // rows read per query (default 1,000)
	Batch    int       // resources written per transaction (default 500)
	Workers  int       // batches written at once (default 4)
	Every    time.Duration
}

func (o *Options) defaults() {
	if o.Page <= 0 {
		o.Page = 1000
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	o.Batch = min(o.Batch, resapp.MaxImportBatch)
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Every <= 0 {
		o.Every = 2 * time.Second
	}
}

// Run imports the kinds of one mapping in order (users, resources,
// files), each row once. It remembers, for a dry run, which rows would
// have been made, so that their resources and files are reported as the
// real run would report them.
type Run struct {
	Source    *Source
	Users     Users
	Resources Resources
	Options

	mu      sync.Mutex
	owners  map[string]string // users' legacy ids → Lattice ids (wouldBeID on a dry run)
	wouldBe map[string]bool   // resources a dry run would make
}

// wouldBeID stands, on a dry run, for the id of a row that would be made.
const wouldBeID = "(dry run)"

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

// add counts one row's outcome: a result as both services name it.
func (c *Counts) add(result, reason, legacyID string) {
	c.Total++
	switch result {
	case "created":
		c.Created++
	case "unchanged":
		c.Unchanged++
	default:
		c.skip(reason, legacyID)
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
func (r *Run) ImportUsers(ctx context.Context, m UsersMapping) (Counts, error) {
	r.defaults()
	c := Counts{Kind: "users"}
	total, err := r.Source.count(ctx, m.Table)
	if err != nil {
		return c, fmt.Errorf("users: count: %w", err)
	}
	p := newProgress(r.Options, "users", total)
	// Emails this run has kept, so that a dry run, which writes nothing,
	// reports a second row with an email as the real run would.
	kept := map[string]bool{}
	var after any
	for {
		rows, err := r.Source.users(ctx, m, after, r.Page)
		if err != nil {
			return c, fmt.Errorf("users: read after %v: %w", after, err)
		}
		for _, u := range rows {
			in := app.ImportedUser{LegacyID: u.legacyID, Email: u.email, DisplayName: u.name, PasswordHash: u.hash, Admin: u.admin}
			if u.createdAt != nil {
				in.CreatedAt = *u.createdAt
			}
			email, _ := domain.NormalizeEmail(u.email)
			out := app.ImportOutcome{Result: app.Skipped, Reason: app.ReasonDuplicateEmail}
			if !kept[email] {
				if out, err = r.Users.ImportUser(ctx, in, r.DryRun); err != nil {
					return c, fmt.Errorf("users: legacy id %s: %w", u.legacyID, err)
				}
			}
			c.add(string(out.Result), out.Reason, u.legacyID)
			if out.Result != app.Skipped {
				kept[email] = true
				if err := r.owner(ctx, u.legacyID, cmp.Or(out.ID, wouldBeID)); err != nil {
					return c, fmt.Errorf("users: legacy id %s: %w", u.legacyID, err)
				}
			}
			p.tick(c.Total)
		}
		if len(rows) < r.Page {
			p.done(c.Total)
			return c, nil
		}
		after = rows[len(rows)-1].key
	}
}

// owner notes a user's Lattice id, and tells the resource service (when
// this run writes resources), whose change feed maps owners by it.
func (r *Run) owner(ctx context.Context, legacyID, id string) error {
	if r.Resources != nil && !r.DryRun && id != "" && id != wouldBeID {
		if err := r.Resources.RecordLegacyUser(ctx, legacyID, id); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.owners == nil {
		r.owners = map[string]string{}
	}
	r.owners[legacyID] = id
	return nil
}

// ownerID maps a user's legacy id to its Lattice id ("": not imported),
// asking auth once per user.
func (r *Run) ownerID(ctx context.Context, legacyID string) (string, error) {
	r.mu.Lock()
	id, ok := r.owners[legacyID]
	r.mu.Unlock()
	if ok {
		return id, nil
	}
	id, err := r.Users.ImportedUserID(ctx, legacyID)
	if err != nil {
		return "", err
	}
	return id, r.owner(ctx, legacyID, id)
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
