// Package app holds the resource service's use cases. Authorization lives
// here, not in handlers: every use case takes the caller and applies the
// domain's access rules before touching a store, and each change is written
// with its events (transactional outbox) in one repository call.
package app

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// Source is the CloudEvents source of this service's events.
const Source = "lattice/resource"

// Deps are the adapters the use cases need.
type Deps struct {
	Resources ResourceRepository
	Files     FileRepository
	Purger    Purger
	Idem      IdempotencyStore
	Imports   Importer // lattice import's store; nil: imports are refused
	Blobs     ports.BlobStore
	Clock     ports.Clock
	// Tx runs a change and its events as one unit of work (ADR 0017); the
	// repositories and Outbox join the transaction it carries.
	Tx     ports.Transactor
	Outbox ports.EventOutbox
	// MaxFileSize caps an uploaded file (default DefaultMaxFileSize).
	MaxFileSize int64
	// EventsWritten, if set, is called after a change with events commits,
	// so the outbox relay publishes at once instead of at its next poll.
	EventsWritten func()
}

// Service runs the resource use cases.
type Service struct{ deps Deps }

// DefaultMaxFileSize is the upload limit when none is configured.
const DefaultMaxFileSize = 25 << 20

// New returns a Service.
func New(deps Deps) *Service {
	if deps.EventsWritten == nil {
		deps.EventsWritten = func() {}
	}
	if deps.MaxFileSize == 0 {
		deps.MaxFileSize = DefaultMaxFileSize
	}
	return &Service{deps: deps}
}

// commit runs work as one unit of work and adds the events it returns to
// the outbox in the same transaction, so a change is kept only with its
// events; the relay is woken once it commits. work may run again if the
// store retries the transaction (a deadlock), so it keeps no state between
// runs.
func (s *Service) commit(ctx context.Context, work func(ctx context.Context) ([]ports.Event, error)) error {
	err := s.deps.Tx.InTx(ctx, func(ctx context.Context) error {
		evs, err := work(ctx)
		if err != nil {
			return err
		}
		return s.deps.Outbox.Add(ctx, evs...)
	})
	if err == nil {
		s.deps.EventsWritten()
	}
	return err
}

// MaxFileSize is the upload limit in force.
func (s *Service) MaxFileSize() int64 { return s.deps.MaxFileSize }

// Input is a resource's editable fields, for create and replace.
type Input struct {
	Title       string
	Body        string
	ContentType string
	Metadata    map[string]string
	Tags        []string
	Visibility  domain.Visibility
}

// Created is the outcome of Create: the resource as created and whether
// this was the replay of an earlier request with the same Idempotency-Key.
type Created struct {
	Resource domain.Resource
	Replayed bool
}

// Create stores a new resource owned by the caller. With an idempotency
// key, a repeat of the same request within 24 hours returns the first
// outcome; the same key with a different body is refused.
func (s *Service) Create(ctx context.Context, c domain.Caller, in Input, idemKey string) (Created, error) {
	if err := c.CheckCreate(); err != nil {
		return Created{}, err
	}
	fingerprint := fingerprintOf(in)
	if idemKey != "" {
		if prior, ok, err := s.replay(ctx, c, idemKey, fingerprint); ok || err != nil {
			return prior, err
		}
	}
	now := s.deps.Clock.Now()
	r := domain.Resource{
		ID: uuid.Must(uuid.NewV7()).String(), OwnerID: c.Subject, Title: in.Title, Body: in.Body,
		ContentType: in.ContentType, Metadata: in.Metadata, Tags: in.Tags, Visibility: in.Visibility,
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := r.Validate(); err != nil {
		return Created{}, err
	}
	ev, err := events.New(Source, schema.CloudEventTypeResourceCreated, r.ID, now, stateOf(r))
	if err != nil {
		return Created{}, err
	}
	var idem *domain.IdempotencyRecord
	if idemKey != "" {
		snap, err := json.Marshal(replayRecord{ResourceState: stateOf(r), Body: r.Body})
		if err != nil {
			return Created{}, err
		}
		idem = &domain.IdempotencyRecord{Caller: c.Subject, Key: idemKey, RequestHash: fingerprint, Status: 201,
			Response: snap, ResourceID: r.ID, CreatedAt: now, ExpiresAt: now.Add(domain.IdempotencyTTL)}
	}
	evs, err := withAudit([]ports.Event{ev}, c, "resource.create", "resource/"+r.ID, r.OwnerID, now,
		map[string]any{"visibility": string(r.Visibility)})
	if err != nil {
		return Created{}, err
	}
	err = s.commit(ctx, func(ctx context.Context) ([]ports.Event, error) {
		return evs, s.deps.Resources.Create(ctx, r, idem)
	})
	if errors.Is(err, domain.ErrIdempotencyKeyUsed) {
		// Another request with the same key committed first: answer as its
		// retry would.
		if prior, ok, rerr := s.replay(ctx, c, idemKey, fingerprint); ok || rerr != nil {
			return prior, rerr
		}
	}
	if err != nil {
		return Created{}, err
	}
	return Created{Resource: r}, nil
}

func (s *Service) replay(ctx context.Context, c domain.Caller, key string, fingerprint []byte) (Created, bool, error) {
	rec, ok, err := s.deps.Idem.Lookup(ctx, c.Subject, key, s.deps.Clock.Now())
	if err != nil || !ok {
		return Created{}, false, err
	}
	if string(rec.RequestHash) != string(fingerprint) {
		return Created{}, true, domain.ErrIdempotencyKeyMismatch
	}
	var st replayRecord
	if err := json.Unmarshal(rec.Response, &st); err != nil {
		return Created{}, true, fault.Wrap(fault.Internal, "corrupt idempotency record", err)
	}
	r := fromState(st.ResourceState)
	r.Body = st.Body
	return Created{Resource: r, Replayed: true}, true, nil
}

// replayRecord is what an idempotency record keeps: the resource as
// created, body included.
type replayRecord struct {
	schema.ResourceState
	Body string `json:"body"`
}

// fingerprintOf hashes a request's content; encoding/json sorts map keys,
// so equal inputs hash equally whatever order their fields came in.
func fingerprintOf(in Input) []byte {
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return sum[:]
}

// Get returns a resource the caller may read; one they may not read is
// reported as not found.
func (s *Service) Get(ctx context.Context, c domain.Caller, id string) (domain.Resource, error) {
	r, err := s.deps.Resources.Get(ctx, id)
	if err != nil {
		return domain.Resource{}, err
	}
	if !c.CanRead(r) {
		return domain.Resource{}, domain.ErrNotFound
	}
	return r, nil
}

// MaxAccessCheck is the most ids one Readable call takes.
const MaxAccessCheck = 100

// Readable returns those of ids that c may read, in the order given;
// missing and unreadable resources are left out alike. Other services ask
// once for a whole page of candidates instead of reading each resource.
func (s *Service) Readable(ctx context.Context, c domain.Caller, ids []string) ([]string, error) {
	if len(ids) == 0 || len(ids) > MaxAccessCheck {
		return nil, fault.InvalidField("ids", fmt.Sprintf("give 1 to %d resource ids", MaxAccessCheck))
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		r, err := s.deps.Resources.Get(ctx, id)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		if c.CanRead(r) {
			out = append(out, id)
		}
	}
	return out, nil
}

// Precondition is a parsed If-Match header.
type Precondition struct {
	Present bool
	Any     bool // If-Match: *
	Version int64
}

// ParseIfMatch reads an If-Match header value: a strong ETag "N", a list
// of them, or *.
func ParseIfMatch(h string) (Precondition, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return Precondition{}, nil
	}
	if h == "*" {
		return Precondition{Present: true, Any: true}, nil
	}
	tag := strings.TrimSpace(strings.SplitN(h, ",", 2)[0])
	if strings.HasPrefix(tag, "W/") {
		return Precondition{}, fault.InvalidField("If-Match", "weak ETags cannot be used for updates")
	}
	v, err := strconv.ParseInt(strings.Trim(tag, `"`), 10, 64)
	if err != nil || len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		return Precondition{}, fault.InvalidField("If-Match", `must be an ETag such as "3", or *`)
	}
	return Precondition{Present: true, Version: v}, nil
}

// ETag renders a version as a strong entity tag.
func ETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func (p Precondition) check(r domain.Resource) error {
	switch {
	case !p.Present:
		return domain.ErrIfMatchRequired
	case p.Any || p.Version == r.Version:
		return nil
	}
	return domain.ErrVersionMismatch
}

// Update applies a merge patch.
func (s *Service) Update(ctx context.Context, c domain.Caller, id string, pre Precondition, p domain.Patch) (domain.Resource, error) {
	return s.change(ctx, c, id, pre, p.Apply, time.Time{})
}

// Replace sets every editable field.
func (s *Service) Replace(ctx context.Context, c domain.Caller, id string, pre Precondition, in Input) (domain.Resource, error) {
	return s.change(ctx, c, id, pre, in.applyTo, time.Time{})
}

// applyTo is r with every editable field set to in's.
func (in Input) applyTo(r domain.Resource) domain.Resource {
	r.Title, r.Body, r.ContentType, r.Metadata, r.Tags, r.Visibility = in.Title, in.Body, in.ContentType, in.Metadata, in.Tags, in.Visibility
	return r
}

// withDefaults is in with the defaults an API caller gets for what it
// leaves out: text/plain, private.
func (in Input) withDefaults() Input {
	if in.ContentType == "" {
		in.ContentType = domain.ContentTypes[0]
	}
	if in.Visibility == "" {
		in.Visibility = domain.Private
	}
	return in
}

// change applies edit to the resource as one new version, dated at (zero:
// now). A dated change that is not newer than the resource is refused
// with errNotNewer.
func (s *Service) change(ctx context.Context, c domain.Caller, id string, pre Precondition, edit func(domain.Resource) domain.Resource, at time.Time) (domain.Resource, error) {
	var r domain.Resource
	err := s.commit(ctx, func(ctx context.Context) (evs []ports.Event, err error) {
		r, err = s.deps.Resources.Update(ctx, id, func(cur domain.Resource) (domain.Resource, error) {
			if !at.IsZero() && !at.After(cur.UpdatedAt) {
				return domain.Resource{}, errNotNewer
			}
			next, changeEvents, err := s.next(c, cur, pre, edit, at)
			evs = changeEvents
			return next, err
		})
		return evs, err
	})
	return r, err
}

// next is the new state edit makes of cur, checked against the caller
// and the precondition, with the events that report it; it is dated at,
// or now when at is zero.
func (s *Service) next(c domain.Caller, cur domain.Resource, pre Precondition, edit func(domain.Resource) domain.Resource, at time.Time) (domain.Resource, []ports.Event, error) {
	if err := c.CheckWrite(cur); err != nil {
		return domain.Resource{}, nil, err
	}
	if err := pre.check(cur); err != nil {
		return domain.Resource{}, nil, err
	}
	next := edit(cur)
	if err := next.Validate(); err != nil {
		return domain.Resource{}, nil, err
	}
	next.Version = cur.Version + 1
	next.UpdatedAt = cmp.Or(at, s.deps.Clock.Now())
	if !next.UpdatedAt.After(cur.UpdatedAt) { // keep updated_at strictly increasing per resource
		next.UpdatedAt = cur.UpdatedAt.Add(time.Microsecond)
	}
	changed := changedFields(cur, next)
	ev, err := events.New(Source, schema.CloudEventTypeResourceUpdated, next.ID, next.UpdatedAt, schema.ResourceUpdated{
		Resource: stateOf(next), PreviousVersion: cur.Version, Changed: changed,
	})
	if err != nil {
		return domain.Resource{}, nil, err
	}
	action, details := "resource.update", map[string]any{"changed": changed, "version": next.Version}
	if cur.Visibility != next.Visibility {
		action = "resource.visibility_change"
		details["from"], details["to"] = string(cur.Visibility), string(next.Visibility)
	}
	evs, err := withAudit([]ports.Event{ev}, c, action, "resource/"+next.ID, cur.OwnerID, next.UpdatedAt, details)
	return next, evs, err
}

// Delete soft-deletes a resource and emits resource.deleted; consumers
// remove what they derived from it.
func (s *Service) Delete(ctx context.Context, c domain.Caller, id string, pre Precondition) error {
	now := s.deps.Clock.Now()
	return s.commit(ctx, func(ctx context.Context) (evs []ports.Event, err error) {
		err = s.deps.Resources.Delete(ctx, id, now, func(cur domain.Resource) error {
			if err := c.CheckWrite(cur); err != nil {
				return err
			}
			if err := pre.check(cur); err != nil {
				return err
			}
			ev, err := events.New(Source, schema.CloudEventTypeResourceDeleted, cur.ID, now, schema.ResourceDeleted{
				Id: cur.ID, OwnerId: cur.OwnerID, Version: cur.Version + 1, DeletedAt: now,
			})
			if err != nil {
				return err
			}
			evs, err = withAudit([]ports.Event{ev}, c, "resource.delete", "resource/"+cur.ID, cur.OwnerID, now, nil)
			return err
		})
		return evs, err
	})
}

// ListInput selects a page.
type ListInput struct {
	Owner, Tag, MetaKey, MetaValue string
	Visibility                     domain.Visibility
	UpdatedSince                   time.Time
	Sort                           domain.SortField
	Limit                          int
	Cursor                         string
}

// Page is one page of a listing.
type Page struct {
	Items      []domain.Resource
	NextCursor string
}

// List returns resources the caller may read.
func (s *Service) List(ctx context.Context, c domain.Caller, in ListInput) (Page, error) {
	if !c.Anonymous() && !c.Admin() && !slices.Contains(c.Scopes, domain.ScopeRead) {
		c = domain.Caller{} // without the read scope a caller sees what anyone sees: public resources
	}
	if in.Sort == "" {
		in.Sort = domain.SortCreated
	}
	after, err := decodeCursor(in.Cursor, in.Sort)
	if err != nil {
		return Page{}, err
	}
	items, err := s.deps.Resources.List(ctx, domain.ListQuery{
		Caller: c, Owner: in.Owner, Tag: strings.ToLower(in.Tag), Visibility: in.Visibility, MetaKey: in.MetaKey, MetaValue: in.MetaValue,
		UpdatedSince: in.UpdatedSince, Sort: in.Sort, Limit: in.Limit + 1, After: after,
	})
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: items}
	if len(items) > in.Limit {
		page.Items = items[:in.Limit]
		last := page.Items[in.Limit-1]
		pos := last.CreatedAt
		if in.Sort == domain.SortUpdated {
			pos = last.UpdatedAt
		}
		page.NextCursor = encodeCursor(in.Sort, domain.Position{Time: pos, ID: last.ID})
	}
	return page, nil
}

type cursor struct {
	Sort domain.SortField `json:"s"`
	Time int64            `json:"t"`
	ID   string           `json:"i"`
}

func encodeCursor(sort domain.SortField, p domain.Position) string {
	b, _ := json.Marshal(cursor{Sort: sort, Time: p.Time.UnixMicro(), ID: p.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, sort domain.SortField) (*domain.Position, error) {
	if s == "" {
		return nil, nil
	}
	bad := fault.InvalidField("cursor", "is not a cursor this API issued for this sort order")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c cursor
	if json.Unmarshal(b, &c) != nil || c.Sort != sort || c.ID == "" {
		return nil, bad
	}
	return &domain.Position{Time: time.UnixMicro(c.Time).UTC(), ID: c.ID}, nil
}

// Versions lists a readable resource's versions.
func (s *Service) Versions(ctx context.Context, c domain.Caller, id string) ([]domain.VersionInfo, error) {
	if _, err := s.Get(ctx, c, id); err != nil {
		return nil, err
	}
	return s.deps.Resources.Versions(ctx, id)
}

// Version returns a readable resource as it was at version n. Access is
// decided on the current state: a resource made private hides its history.
func (s *Service) Version(ctx context.Context, c domain.Caller, id string, n int64) (domain.Resource, error) {
	if _, err := s.Get(ctx, c, id); err != nil {
		return domain.Resource{}, err
	}
	return s.deps.Resources.Version(ctx, id, n)
}

func stateOf(r domain.Resource) schema.ResourceState {
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	return schema.ResourceState{
		Id: r.ID, OwnerId: r.OwnerID, Title: r.Title, ContentType: r.ContentType, Visibility: schema.ResourceStateVisibility(r.Visibility),
		Version: r.Version, Tags: tags, Metadata: r.Metadata, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// fromState rebuilds a resource from an event state (which has no body).
func fromState(st schema.ResourceState) domain.Resource {
	return domain.Resource{
		ID: st.Id, OwnerID: st.OwnerId, Title: st.Title, ContentType: st.ContentType, Visibility: domain.Visibility(st.Visibility),
		Version: st.Version, Tags: st.Tags, Metadata: st.Metadata, CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt,
	}
}

func changedFields(a, b domain.Resource) []schema.ResourceUpdatedChanged {
	var out []schema.ResourceUpdatedChanged
	add := func(changed bool, f schema.ResourceUpdatedChanged) {
		if changed {
			out = append(out, f)
		}
	}
	add(a.Title != b.Title, schema.Title)
	add(a.Body != b.Body, schema.Body)
	add(a.ContentType != b.ContentType, schema.ContentType)
	add(a.Visibility != b.Visibility, schema.Visibility)
	add(!slices.Equal(a.Tags, b.Tags), schema.Tags)
	add(!maps.Equal(a.Metadata, b.Metadata), schema.Metadata)
	if out == nil {
		out = []schema.ResourceUpdatedChanged{}
	}
	return out
}
